"""Signal receivers, connected in ``MesConfig.ready()``."""

from mes.audit.context import current_channel, current_request_id


def stamp_request_id(sender, history_instance, **kwargs) -> None:
    """Put the current request id and channel on every history row (auditors trace a change
    to a request, and see whether it came from a page, the API, the ERP, a machine...)."""
    if hasattr(history_instance, "request_id"):
        history_instance.request_id = current_request_id()
        history_instance.channel = current_channel()


def ensure_roles(sender, **kwargs) -> None:
    """After every migrate (and test flush), the role groups hold ROLE_PERMISSIONS again."""
    from mes.roles import sync_roles

    sync_roles()


def revoke_inactive_sessions(sender, instance, **kwargs) -> None:
    """A user saved inactive loses their open websockets as soon as the save commits."""
    if instance.pk and not instance.is_active:
        from django.db import transaction

        from mes.notifications import revoke_sessions

        transaction.on_commit(lambda: revoke_sessions(instance.pk))


def revoke_signed_out_sockets(sender, request, user, **kwargs) -> None:
    """Signing out ends the session: the sockets it opened re-check (and close) at once."""
    if user is not None and user.pk:
        from django.db import transaction

        from mes.notifications import revoke_sessions

        transaction.on_commit(lambda: revoke_sessions(user.pk))


def recheck_sockets_of_site_grants(sender, instance, **kwargs) -> None:
    """A site grant given or removed, however (the account service, guardian's
    object-permission pages, a shell): the sockets of the users who hold or held it re-check
    at once (closing on a lost site; a notification socket follows its sites' role groups)."""
    from django.db import transaction

    from mes.models.access import SITE_ACCESS_PERM
    from mes.notifications import revoke_sessions

    if instance.permission.codename != SITE_ACCESS_PERM.split(".")[1]:
        return
    if getattr(instance, "user_id", None) is not None:
        user_ids = [instance.user_id]
    else:
        user_ids = list(instance.group.user_set.values_list("pk", flat=True))
    transaction.on_commit(lambda: [revoke_sessions(pk) for pk in user_ids])


def recheck_sockets_of_changed_roles(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """A user's roles changed (either side of ``User.groups``): their sockets re-check at once,
    so a notification socket joins and leaves the role groups it now belongs to."""
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    from django.db import transaction

    from mes.notifications import revoke_sessions

    if reverse:  # group.user_set changed: pk_set holds users (all of them on a clear)
        user_ids = list(pk_set or instance.user_set.values_list("pk", flat=True))
    else:
        user_ids = [instance.pk]
    transaction.on_commit(lambda: [revoke_sessions(pk) for pk in user_ids])
