"""User accounts, their roles and their sites: nobody grants what they do not hold.

A superuser manages every account. Anyone else who may change users (a manager) manages only
the accounts of the sites they hold themselves: accounts granted at least one of those sites
and nothing beyond them, without a role they may not grant, without superuser or staff rights
or permissions of their own. They grant only the roles they may delegate (never ``manager``,
``auditor`` or ``erp_integration``) and only their own sites. Their own account is not theirs
to manage. Every save writes history (the password never) and an ``account.changed`` event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.models import UserObjectPermission

from mes.access import (
    SITE_ACCESS_PERM,
    forget_site_cache,
    grant_site_access,
    revoke_site_access,
    visible_site_ids,
)
from mes.errors import InvalidInput, NotPermitted
from mes.models import AccountKind, AccountProfile, Site
from mes.notifications import revoke_sessions
from mes.outbox import emit_event
from mes.roles import ROLES

from .base import authorize, default_reason, require_reason, save_with_history

NEVER_DELEGATED = ("manager", "auditor", "erp_integration")


def grantable_roles(actor) -> list[str]:
    """The roles ``actor`` may give: every one for a superuser; else those they may delegate."""
    if actor is not None and actor.is_superuser:
        return list(ROLES)
    if actor is None or not actor.has_perm("auth.change_user"):
        return []
    return [role for role in ROLES if role not in NEVER_DELEGATED]


def manageable_sites(actor) -> QuerySet:
    """The sites whose accounts ``actor`` manages (all for a superuser)."""
    if actor is not None and actor.is_superuser:
        return Site.objects.all()
    if actor is None or not actor.has_perm("auth.change_user"):
        return Site.objects.none()
    return Site.objects.filter(pk__in=visible_site_ids(actor))


def _site_grants():
    app_label, codename = SITE_ACCESS_PERM.split(".")
    return UserObjectPermission.objects.filter(
        permission__codename=codename, permission__content_type__app_label=app_label
    )


def accounts_manageable_by(actor) -> QuerySet:
    """The accounts ``actor`` may see and change in the admin."""
    accounts = get_user_model().objects.all()
    if actor is not None and actor.is_superuser:
        return accounts
    sites = [str(pk) for pk in manageable_sites(actor).values_list("pk", flat=True)]
    if not sites:
        return accounts.none()
    grants = _site_grants()
    return (
        accounts.filter(is_superuser=False, is_staff=False)
        .filter(pk__in=grants.filter(object_pk__in=sites).values("user_id"))
        .exclude(pk__in=grants.exclude(object_pk__in=sites).values("user_id"))
        .exclude(groups__name__in=[r for r in ROLES if r not in grantable_roles(actor)])
        .exclude(groups__in=Group.objects.exclude(name__in=ROLES))
        .exclude(user_permissions__isnull=False)
        .exclude(pk=actor.pk)
        .distinct()
    )


def site_codes_of(user) -> list[str]:
    ids = _site_grants().filter(user=user).values_list("object_pk", flat=True)
    return sorted(Site.objects.filter(pk__in=[int(i) for i in ids]).values_list("code", flat=True))


def save_account(
    user,
    *,
    actor,
    reason: str = "",
    roles: Iterable[Group] | None = None,
    sites: Iterable[Site] | None = None,
):
    """Create or change an account with its roles and sites (``None``: left as they are),
    within what ``actor`` may grant. Refused (403 ``not_delegable``) otherwise; nothing is
    written then."""
    created = user.pk is None
    authorize(actor, "auth.add_user" if created else "auth.change_user", None)
    roles = None if roles is None else list(roles)
    sites = None if sites is None else list(sites)
    if actor is not None and not actor.is_superuser:
        _check_delegation(user, actor=actor, created=created, roles=roles, sites=sites)
    reason = default_reason(reason, "account created" if created else "account changed")
    with transaction.atomic():
        save_with_history(user, actor=actor, reason=reason)
        if roles is not None:
            kept = [] if actor is None or actor.is_superuser else _roles_kept(user, actor)
            user.groups.set([*roles, *kept])
        if sites is not None:
            _set_sites(user, sites, actor)
        forget_site_cache(user)
        _announce(user, actor, reason, created=created)
    return user


def _check_delegation(user, *, actor, created, roles, sites) -> None:
    model = get_user_model()
    if not created and not accounts_manageable_by(actor).filter(pk=user.pk).exists():
        raise NotPermitted(_("This account is not yours to manage."), code="not_delegable")
    stored = model.objects.filter(pk=user.pk).values("is_superuser", "is_staff").first()
    stored = stored or {"is_superuser": False, "is_staff": False}
    if (user.is_superuser, user.is_staff) != (stored["is_superuser"], stored["is_staff"]):
        raise NotPermitted(
            _("Only a superuser makes an account staff or superuser."), code="not_delegable"
        )
    allowed = set(grantable_roles(actor))
    if roles is not None and any(role.name not in allowed for role in roles):
        raise NotPermitted(
            _("You may grant only these roles: %(roles)s.") % {"roles": ", ".join(sorted(allowed))},
            code="not_delegable",
        )
    own = set(manageable_sites(actor).values_list("pk", flat=True))
    if sites is not None and (not sites or any(site.pk not in own for site in sites)):
        raise InvalidInput(
            _("Grant one or more of your own sites."),
            code="not_delegable",
            fields={"sites": [_("Only sites you manage.")]},
        )


def _roles_kept(user, actor) -> list[Group]:
    """Roles the actor may not grant stay as they are (an account they manage has none)."""
    if user.pk is None:
        return []
    return list(user.groups.exclude(name__in=grantable_roles(actor)))


def _set_sites(user, sites: list[Site], actor) -> None:
    """Make ``sites`` the account's sites among those the actor manages (others untouched)."""
    scope = manageable_sites(actor) if actor is not None else Site.objects.all()
    held = {int(pk) for pk in _site_grants().filter(user=user).values_list("object_pk", flat=True)}
    wanted = {site.pk for site in sites}
    for site in scope:
        if site.pk in wanted and site.pk not in held:
            grant_site_access(user, site)
        elif site.pk not in wanted and site.pk in held:
            revoke_site_access(user, site)


# --- lifecycle: kind, sponsor, expiry (mes.models.accounts) --------------------------------


def max_account_days() -> int:
    return settings.ANDON_ACCOUNT_MAX_DAYS


def lifecycle_of(user) -> AccountProfile:
    """The account's lifecycle row (unsaved for an account that has none: an employee)."""
    try:
        return user.account_profile
    except AccountProfile.DoesNotExist:
        return AccountProfile(user=user)


def set_lifecycle(
    user,
    *,
    actor,
    kind: str,
    sponsor=None,
    expires_at=None,
    reason: str = "",
) -> AccountProfile:
    """Say what kind of account ``user`` is, who sponsors it and when it expires: every kind
    but employee expires, within ``ACCOUNT_MAX_DAYS``; every account has a sponsor (its
    creator when none is named). Only for an account the actor manages."""
    if actor is not None and not actor.is_superuser:
        if user.pk == actor.pk or not accounts_manageable_by(actor).filter(pk=user.pk).exists():
            raise NotPermitted(_("This account is not yours to manage."), code="not_delegable")
    if kind not in AccountKind.values:
        raise InvalidInput(
            _("Unknown kind of account."), code="invalid", fields={"kind": [_("Unknown.")]}
        )
    now = timezone.now()
    if kind != AccountKind.EMPLOYEE:
        _check_expiry(expires_at, now)
    sponsor = sponsor or (actor if actor is not None and actor.pk != user.pk else None)
    if sponsor is not None and sponsor.pk == user.pk:
        raise InvalidInput(
            _("An account cannot sponsor itself."),
            code="invalid_sponsor",
            fields={"sponsor": [_("Someone else.")]},
        )
    profile = lifecycle_of(user)
    outside = profile.pk is not None and profile.kind != AccountKind.EMPLOYEE
    if outside and kind == AccountKind.EMPLOYEE and actor is not None and not actor.is_superuser:
        # An employee never expires: turning an outside account into one is the escape from
        # its expiry a manager must not have. A sponsor extends it, with a reason.
        raise NotPermitted(
            _("Only a superuser makes an outside account an employee's."),
            code="not_delegable",
        )
    changed = (profile.kind, profile.sponsor_id, profile.expires_at) != (
        kind,
        getattr(sponsor, "pk", None),
        expires_at,
    )
    if profile.pk is not None and not changed:
        return profile
    if profile.expires_at != expires_at:
        profile.warned_14_at = profile.warned_3_at = None
    profile.kind, profile.sponsor, profile.expires_at = kind, sponsor, expires_at
    with transaction.atomic():
        save_with_history(profile, actor=actor, reason=default_reason(reason, "lifecycle set"))
        transaction.on_commit(lambda: revoke_sessions(user.pk))
    return profile


def extend_account(user, *, actor, until, reason: str) -> AccountProfile:
    """Move an expiring account's end to ``until`` (within ``ACCOUNT_MAX_DAYS`` from now),
    by its sponsor or a manager of the account, always with a reason."""
    profile = lifecycle_of(user)
    reason = require_reason(reason)
    if profile.pk is None or profile.kind == AccountKind.EMPLOYEE:
        raise InvalidInput(_("This account does not expire."), code="does_not_expire")
    sponsor = actor is not None and profile.sponsor_id == actor.pk
    if actor is not None and not sponsor and not actor.is_superuser:
        if not accounts_manageable_by(actor).filter(pk=user.pk).exists():
            raise NotPermitted(_("Only its sponsor or a manager extends it."), code="not_delegable")
    _check_expiry(until, timezone.now())
    profile.expires_at = until
    profile.warned_14_at = profile.warned_3_at = None
    save_with_history(profile, actor=actor, reason=reason)
    return profile


def _check_expiry(expires_at, now) -> None:
    days = {"days": max_account_days()}
    if (
        expires_at is None
        or expires_at <= now
        or expires_at > now + timedelta(days=max_account_days(), minutes=1)
    ):
        raise InvalidInput(
            _("Give an expiry within %(days)s days from now.") % days,
            code="invalid_expiry",
            fields={"expires_at": [_("Between now and %(days)s days.") % days]},
        )


def expire_accounts(now=None) -> dict:
    """Deactivate accounts past their expiry (history says why; the sponsor is told), and
    tell sponsors 14 and 3 days before. Idempotent: each warning is sent once."""
    from mes.notifications import Message, send

    now = now or timezone.now()
    done = {"deactivated": 0, "warned": 0}
    expired = AccountProfile.objects.select_related("user", "sponsor").filter(
        expires_at__lte=now, user__is_active=True
    )
    for profile in expired:
        user = profile.user
        with transaction.atomic():
            user.is_active = False
            save_account(user, actor=None, reason="expired")  # history and account.changed
            send(
                Message(
                    "account_expired",
                    [profile.sponsor] if profile.sponsor else [],
                    title=_("Account %(name)s expired and was deactivated")
                    % {"name": user.get_username()},
                )
            )
        done["deactivated"] += 1
    for days, field in ((14, "warned_14_at"), (3, "warned_3_at")):
        due = AccountProfile.objects.select_related("user", "sponsor").filter(
            user__is_active=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
            **{f"{field}__isnull": True},
        )
        for profile in due:
            send(
                Message(
                    "account_expiring",
                    [profile.sponsor] if profile.sponsor else [],
                    title=_("Account %(name)s expires on %(date)s")
                    % {
                        "name": profile.user.get_username(),
                        "date": f"{profile.expires_at:%Y-%m-%d}",
                    },
                    body=_("Extend it with a reason, or let it expire."),
                )
            )
            setattr(profile, field, now)
            if days == 3 and profile.warned_14_at is None:
                profile.warned_14_at = now  # the 14-day warning is past: not sent late
            profile.save(update_fields=["warned_14_at", "warned_3_at"])
            done["warned"] += 1
    return done


def password_set(user, *, actor) -> None:
    """A password was set for ``user`` (the admin's password page, whose form saved it with
    the reason :data:`SIGN_IN_CHANGED` in its history): ``account.changed``, and its open
    websockets re-check at once."""
    with transaction.atomic():
        _announce(user, actor, SIGN_IN_CHANGED, created=False)


SIGN_IN_CHANGED = "password set"


def _announce(user, actor, reason: str, *, created: bool) -> None:
    """In the caller's transaction: ``account.changed``, and after commit the account's open
    websockets re-check at once (a lost site, role or password closes them)."""
    transaction.on_commit(lambda: revoke_sessions(user.pk))
    emit_event(
        "account.changed",
        aggregate=user,
        actor=actor,
        reason=reason,
        payload=_account_payload(user, created=created),
    )


def _account_payload(user, *, created: bool) -> dict:
    return {
        "id": user.pk,
        "username": user.get_username(),
        "created": created,
        "active": user.is_active,
        "roles": sorted(user.groups.values_list("name", flat=True)),
        "sites": site_codes_of(user),
    }
