"""Authentication backend: Django's, except that expired accounts are refused (sign-in and
every request of an open session) and that service accounts (holding only the roles of
machines, :data:`mes.roles.SERVICE_ROLES`) never sign in with a password: they use tokens,
for the endpoints made for them."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from mes import config_cache
from mes.models import AccountKind, AccountProfile, account_usable
from mes.roles import SERVICE_ROLES


def _service_kind(user) -> bool:
    try:
        return user.account_profile.kind == AccountKind.SERVICE
    except AccountProfile.DoesNotExist:
        return False


def is_service_account(user) -> bool:
    """Of the service kind, or holding only service roles and no permission or flag of its
    own."""
    if user.is_superuser or user.is_staff:
        return False
    if _service_kind(user):
        return True
    roles = role_names(user)
    return bool(roles) and roles <= SERVICE_ROLE_SET and not has_own_permissions(user)


SERVICE_ROLE_SET = frozenset(SERVICE_ROLES)


def role_names(user) -> frozenset[str]:
    """The names of the account's roles (groups), kept with the configuration."""
    return config_cache.cached(
        ("role_names", user.pk), lambda: frozenset(user.groups.values_list("name", flat=True))
    )


def has_own_permissions(user) -> bool:
    """Does the account hold a permission of its own, besides its roles' (kept likewise)."""
    return config_cache.cached(("own_perms", user.pk), lambda: user.user_permissions.exists())


class PersonBackend(ModelBackend):
    """Also loads the session's user with its lifecycle in the same query, and refuses an
    expired account at once (its session becomes anonymous on its next request), as it
    refuses an account of the service kind (made one while signed in, say)."""

    def user_can_authenticate(self, user) -> bool:
        return (
            super().user_can_authenticate(user)
            and account_usable(user)
            and not is_service_account(user)
        )

    def _get_permissions(self, user_obj, obj, from_name):
        """The role and own permissions of an account, kept per process until the
        configuration (roles, grants) changes."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        attr = f"_{from_name}_perm_cache"
        if not hasattr(user_obj, attr):
            key = ("perms", from_name, "*" if user_obj.is_superuser else user_obj.pk)
            parent = super()._get_permissions
            found = config_cache.cached(key, lambda: frozenset(parent(user_obj, obj, from_name)))
            setattr(user_obj, attr, found)
        return getattr(user_obj, attr)

    def get_user(self, user_id):
        user = (
            get_user_model()
            ._default_manager.select_related("account_profile")
            .filter(pk=user_id)
            .first()
        )
        if user is None or not account_usable(user) or _service_kind(user):
            return None
        return user
