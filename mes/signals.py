"""Signal receivers, connected in ``MesConfig.ready()``."""

from mes.middleware import current_request_id


def stamp_request_id(sender, history_instance, **kwargs) -> None:
    """Put the current request id on every history row (auditors trace a change to a request)."""
    if hasattr(history_instance, "request_id"):
        history_instance.request_id = current_request_id()


def ensure_roles(sender, **kwargs) -> None:
    """After every migrate (and test flush), the role groups hold ROLE_PERMISSIONS again."""
    from mes.roles import sync_roles

    sync_roles()
