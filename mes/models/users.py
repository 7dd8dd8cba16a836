"""History of user accounts: who changed an account, its roles, its staff or superuser flags,
when and why (the password and the last login are never kept)."""

from django.contrib.auth.models import User
from simple_history import register
from simple_history.exceptions import MultipleRegistrationsError

from .base import ChainedEntry, HistoryAuditFields


def register_user_history() -> None:
    """Accounts, their roles (groups) and their site grants (guardian's permissions)."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    for grants in (UserObjectPermission, GroupObjectPermission):
        try:
            register(grants, app="mes", bases=[HistoryAuditFields])
        except MultipleRegistrationsError:
            pass
    try:
        register(
            User,
            app="mes",
            excluded_fields=["password", "last_login"],
            m2m_fields=["groups"],
            m2m_bases=[ChainedEntry],
            bases=[HistoryAuditFields],
        )
    except MultipleRegistrationsError:  # the module imported twice (reloads)
        pass
