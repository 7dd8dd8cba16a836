"""Embedded mode (no Redis, no Celery beat): run the periodic sweeps in a daemon thread of the
ASGI server process, so escalations fire and left-behind outbox events are relayed in the demo.
Started by mes/asgi.py when ANDON_INPROCESS_SWEEPS=1 (``make demo``) and Celery runs eagerly."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)
_started = threading.Event()


def _loop(interval: float, stop: threading.Event) -> None:
    from exceptions.tasks import sweep_escalations
    from mes.tasks import sweep_outbox

    while not stop.wait(interval):
        try:
            close_old_connections()
            sweep_outbox()
            sweep_escalations()
        except Exception:  # keep the loop alive; the next round retries
            log.exception("in-process sweep failed")
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
