"""Authentication backend: Django's, except that service accounts (holding only the roles of
machines, :data:`mes.roles.SERVICE_ROLES`) never sign in with a password: they use tokens,
for the endpoints made for them."""

from django.contrib.auth.backends import ModelBackend

from mes.roles import SERVICE_ROLES


def is_service_account(user) -> bool:
    """Only service roles, and no permission or flag of its own."""
    if user.is_superuser or user.is_staff:
        return False
    roles = set(user.groups.values_list("name", flat=True))
    return bool(roles) and roles <= set(SERVICE_ROLES) and not user.user_permissions.exists()


class PersonBackend(ModelBackend):
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not is_service_account(user)
