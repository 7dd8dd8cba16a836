"""Configuration kept in the process until it changes.

Types, workflows, SLA and escalation policies, calendars, rules, role permissions and site
grants are read on every raise and every move, and change a few times a day. Each process
keeps what it read under the configuration's *generation*: a token in one row
(:class:`~mes.models.ConfigGeneration`) that every change of a watched model replaces, in the
changing transaction (``watch()`` connects the model's save, delete and many-to-many signals;
the apps watch their configuration in ``ready()``). A request, a task or a relay batch reads
the token once (a ``scope()``; an API token's lookup carries it, :func:`prime`); what was cached
under another token is not used again. So a change is seen by every process from the first
request that starts after it commits, never later, and a transaction that changed
configuration reads its own changes (its new token caches nothing until it commits).

Cached values are shared between requests and threads: treat them as read-only.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import OrderedDict
from contextvars import ContextVar

__all__ = [
    "bump",
    "cached",
    "clear",
    "current",
    "enter_task",
    "leave_task",
    "prime",
    "scope",
    "token",
    "watch",
]

KEEP = 3  # generations kept (a request that started before a change finishes on its own)
MAX_ENTRIES = 20_000  # per generation: beyond, values are read but not kept

_UNSET = object()
_scope: ContextVar[object] = ContextVar("andon_config_scope", default=None)
_lock = threading.Lock()
_store: OrderedDict[str, dict] = OrderedDict()


class _Scope:
    __slots__ = ("token",)

    def __init__(self):
        self.token = _UNSET


@contextlib.contextmanager
def scope():
    """Read the generation at most once inside (a request, a task, one relay batch)."""
    reset = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(reset)


_tasks: dict[str, object] = {}


def enter_task(task_id=None, **kwargs) -> None:
    """Celery's ``task_prerun``: a task is one scope."""
    if task_id is not None:
        _tasks[task_id] = _scope.set(_Scope())


def leave_task(task_id=None, **kwargs) -> None:
    reset = _tasks.pop(task_id, None) if task_id is not None else None
    if reset is not None:
        with contextlib.suppress(ValueError, RuntimeError):
            _scope.reset(reset)


ROW = 1  # the one row of ConfigGeneration


def _rows():
    from django.apps import apps

    return apps.get_model("mes", "ConfigGeneration").objects.filter(pk=ROW)


def generation_subquery():
    """The generation as an expression, for a query that carries it (see ``prime``)."""
    from django.db.models import Subquery

    return Subquery(_rows().values("token")[:1])


def _read() -> str | None:
    return _rows().values_list("token", flat=True).first()


def token() -> str | None:
    """The generation this scope works with (outside a scope: read now). None: no caching."""
    current_scope = _scope.get()
    if current_scope is None:
        return _read()
    if current_scope.token is _UNSET:
        current_scope.token = _read()
    return current_scope.token


def current() -> str | None:
    """What the generation reads as now, for a query to carry (``prime``)."""
    return _read()


def prime(value: str | None) -> None:
    """The generation, read with another statement of this scope (the API token's lookup)."""
    current_scope = _scope.get()
    if current_scope is not None and current_scope.token is _UNSET:
        current_scope.token = value


def cached(key, loader):
    """``loader()``'s value, read once per process and generation."""
    generation = token()
    if generation is None:
        return loader()
    with _lock:
        entries = _store.get(generation)
    if entries is not None and key in entries:
        return entries[key]
    value = loader()
    with _lock:
        entries = _store.get(generation)
        if entries is None:
            entries = _store[generation] = {}
            while len(_store) > KEEP:
                _store.popitem(last=False)
        if len(entries) < MAX_ENTRIES:
            entries[key] = value
    return value


def bump(**kwargs) -> None:
    """Configuration changed in the current transaction: a new generation with it. Every
    change makes one, so what this transaction cached before a change of its own is never
    read after it; the scope reads the generation again (a savepoint rolled back restores
    the one before)."""
    new = uuid.uuid4().hex
    if not _rows().update(token=new):
        _rows().model.objects.update_or_create(pk=ROW, defaults={"token": new})
    current_scope = _scope.get()
    if current_scope is not None:
        current_scope.token = _UNSET


def _on_m2m(sender, action, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        bump()


def watch(*models) -> None:
    """Every save or delete of these models (and change of their many-to-many fields, or of
    a many-to-many table given here) makes a new generation."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for model in models:
        uid = f"andon_config_{model._meta.label_lower}"
        if model._meta.auto_created:  # a many-to-many table
            m2m_changed.connect(_on_m2m, sender=model, dispatch_uid=uid)
            continue
        post_save.connect(bump, sender=model, dispatch_uid=uid)
        post_delete.connect(bump, sender=model, dispatch_uid=uid)
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            m2m_changed.connect(
                _on_m2m, sender=through, dispatch_uid=f"andon_config_{through._meta.label_lower}"
            )


def clear() -> None:
    """Forget everything cached (tests)."""
    with _lock:
        _store.clear()
