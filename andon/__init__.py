"""Andon's project package: settings, root URLs, the ASGI/WSGI entry points, the Celery app,
websocket routing, the in-process sweeps of the embedded demo and its seeding.

It owns no domain code. The apps (``settings.ANDON_APPS``) contribute their pages, API routes,
websocket routes, admin, events, subscribers, notification kinds, role permissions, periodic
tasks and demo data through modules of their own, which :mod:`andon.discovery` finds; adding an
app means adding it to ``ANDON_APPS``, never editing another app.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]
