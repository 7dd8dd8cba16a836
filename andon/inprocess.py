"""Embedded mode (no Redis, no Celery beat): run the periodic tasks the apps mark
``inprocess`` (the outbox and escalation sweeps) in a daemon thread of the ASGI server process.
Started by :mod:`andon.asgi` when ANDON_INPROCESS_SWEEPS=1 (``make demo``) and Celery runs
eagerly."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

from .periodic import periodic_tasks

log = logging.getLogger(__name__)
_started = threading.Event()


def _loop(interval: float, stop: threading.Event) -> None:
    tasks = [(name, import_string(p.task)) for name, p in periodic_tasks().items() if p.inprocess]
    while not stop.wait(interval):
        for name, task in tasks:
            try:
                close_old_connections()
                task()
            except Exception:  # keep the loop alive; the next round retries
                log.exception("in-process %s failed", name)
            finally:
                close_old_connections()


def start_periodic_sweeps(interval: float = 30.0) -> threading.Event | None:
    """Start the sweeps once per process when tasks run in-process; returns a stop event."""
    if not settings.CELERY_TASK_ALWAYS_EAGER or _started.is_set():
        return None
    _started.set()
    stop = threading.Event()
    threading.Thread(target=_loop, args=(interval, stop), name="andon-sweeps", daemon=True).start()
    return stop
