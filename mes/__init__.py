"""Andon project package and production core (sites, work orders, operations, lots)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
