"""Site-scoped access: the one place that decides which sites a user may see.

A user sees a site when they hold the ``mes.access_site`` object permission on it (django-guardian,
directly or through a group), or the same permission globally (auditors, head-office managers), or
is a superuser. Every queryset scope (``visible_to``) and every service check asks this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AnonymousUser

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from .sites import Site

SITE_ACCESS_PERM = "mes.access_site"
_CACHE_ATTR = "_andon_site_ids"
_EVERY_ATTR = "_andon_every_site"
_LIMIT_ATTR = "_andon_site_limit"  # a token limited to some sites: this request sees no more


def limit_sites(user, site_ids: frozenset[int] | None) -> None:
    """Let this user object (one request's, one socket's) see at most ``site_ids``."""
    setattr(user, _LIMIT_ATTR, site_ids)
    for attr in (_CACHE_ATTR, _EVERY_ATTR):
        if hasattr(user, attr):
            delattr(user, attr)


def _site_model():
    from django.apps import apps

    return apps.get_model("mes", "Site")  # found by name: no import cycle with .sites


def every_site_id() -> frozenset[int]:
    """The ids of all sites, kept until the configuration changes."""
    from mes import config_cache

    return config_cache.cached(
        "site_ids", lambda: frozenset(_site_model().objects.values_list("pk", flat=True))
    )


def visible_site_ids(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[int]:
    """Ids of the sites ``user`` may read; cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from guardian.shortcuts import get_objects_for_user

    from mes import config_cache

    if user.is_superuser or user.has_perm(SITE_ACCESS_PERM):
        result = every_site_id()
    else:
        result = config_cache.cached(
            ("site_ids", user.pk),
            lambda: frozenset(
                get_objects_for_user(
                    user, SITE_ACCESS_PERM, klass=_site_model(), accept_global_perms=False
                ).values_list("pk", flat=True)
            ),
        )
    limit = getattr(user, _LIMIT_ATTR, None)
    if limit is not None:
        result &= limit
    setattr(user, _CACHE_ATTR, result)
    return result


def sees_every_site(user) -> bool:
    """Superusers and accounts that see every site there is (head office, a one-site plant's
    managers): the configuration shared by all sites (types, workflows, policies, items, new
    sites) is theirs to change; a manager of some sites reads it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, _EVERY_ATTR, None)
    if cached is None:
        cached = every_site_id() <= visible_site_ids(user)
        setattr(user, _EVERY_ATTR, cached)
    return cached


def can_access_site(user, site: Site | int | None) -> bool:
    """True when ``user`` may see records of ``site``."""
    if site is None:
        return False
    site_id = site if isinstance(site, int) else site.pk
    return site_id in visible_site_ids(user)


def grant_site_access(user_or_group, site: Site) -> None:
    """Let a user or a group (role) see and act on ``site``'s records."""
    from guardian.shortcuts import assign_perm

    assign_perm(SITE_ACCESS_PERM, user_or_group, site)
    forget_site_cache(user_or_group)


def revoke_site_access(user_or_group, site: Site) -> None:
    from guardian.shortcuts import remove_perm

    remove_perm(SITE_ACCESS_PERM, user_or_group, site)
    forget_site_cache(user_or_group)


def forget_site_cache(user) -> None:
    for attr in (
        _CACHE_ATTR,
        _EVERY_ATTR,
        "_perm_cache",
        "_user_perm_cache",
        "_group_perm_cache",
        "_andon_group_ids",
    ):
        if hasattr(user, attr):
            delattr(user, attr)


def users_visible_to(user):
    """The accounts ``user`` may see: those granted one of the sites ``user`` sees (directly or
    through a role group), and those who see every site (auditors); all for a superuser. What
    the admin offers when a form picks a user (escalation recipients, an endpoint's owner)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q
    from guardian.models import GroupObjectPermission, UserObjectPermission

    accounts = get_user_model().objects.all()
    if user is None or not user.is_authenticated or not user.is_active:
        return accounts.none()
    if user.is_superuser:
        return accounts
    sites = [str(pk) for pk in visible_site_ids(user)]
    app_label, codename = SITE_ACCESS_PERM.split(".")
    perm = Q(permission__codename=codename, permission__content_type__app_label=app_label)
    direct = UserObjectPermission.objects.filter(perm, object_pk__in=sites).values("user_id")
    groups = GroupObjectPermission.objects.filter(perm, object_pk__in=sites).values("group_id")
    return accounts.filter(Q(pk__in=direct) | Q(groups__in=groups) | Q(pk=user.pk)).distinct()
