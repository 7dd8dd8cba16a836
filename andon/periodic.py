"""The periodic tasks every app declares (``PERIODIC_TASKS`` in its ``tasks`` module): Celery
beat's schedule in production, a daemon thread in the embedded demo (:mod:`andon.inprocess`)."""

from __future__ import annotations

import os
from datetime import timedelta

from .discovery import app_modules


def periodic_tasks() -> dict:
    """name -> :class:`mes.tasks.Periodic`, from every app's ``tasks`` module."""
    found = {}
    for module in app_modules("tasks"):
        found.update(getattr(module, "PERIODIC_TASKS", {}))
    return found


def seconds(periodic) -> float:
    """Its interval: the environment variable it names, else its default."""
    if periodic.env and os.environ.get(periodic.env):
        return float(os.environ[periodic.env])
    return float(periodic.seconds)


def beat_schedule() -> dict:
    return {
        name: {"task": periodic.task, "schedule": timedelta(seconds=seconds(periodic))}
        for name, periodic in periodic_tasks().items()
    }
