"""The channel a change came through, stamped on every history row (``channel``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    PAGE = "page", _("page")
    API = "api", _("API")
    ADMIN = "admin", _("admin")
    ERP = "erp", _("ERP")
    MACHINE = "machine", _("machine")
    RULE = "rule", _("rule")
    IMPORT = "import", _("import")
    SYSTEM = "system", _("system")


_channel: ContextVar[str] = ContextVar("andon_channel", default=Channel.SYSTEM)
# The request being served (mes.middleware.RequestIdMiddleware sets it).
_request_id: ContextVar[str] = ContextVar("andon_request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


def current_channel() -> str:
    return _channel.get()


@contextmanager
def channel(name: str) -> Iterator[None]:
    """Changes made inside come through ``name`` (the ERP's ingest, the collector, rules)."""
    token = _channel.set(name)
    try:
        yield
    finally:
        _channel.reset(token)


def channel_of_path(path: str) -> str:
    """A request's channel from its path: the API, the admin, or a page."""
    if path.startswith("/api/"):
        return Channel.API
    if path.startswith("/admin/"):
        return Channel.ADMIN
    return Channel.PAGE


def history_stamps() -> dict:
    """The audit columns of history rows written in bulk (``bulk_history_create``)."""
    return {"request_id": current_request_id(), "channel": current_channel()}
