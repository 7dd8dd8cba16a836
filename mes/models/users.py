"""History of user accounts: who changed an account, its roles, its staff or superuser flags,
when and why (the password and the last login are never kept)."""

from django.contrib.auth.models import User
from simple_history import register
from simple_history.exceptions import MultipleRegistrationsError

from .base import HistoryAuditFields


def register_user_history() -> None:
    try:
        register(
            User,
            app="mes",
            excluded_fields=["password", "last_login"],
            m2m_fields=["groups"],
            bases=[HistoryAuditFields],
        )
    except MultipleRegistrationsError:  # the module imported twice (reloads)
        pass
