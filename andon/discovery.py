"""Finds what each Andon app contributes, by module name (as the admin finds ``admin.py``).

| module | what the project takes from it |
|---|---|
| ``events`` | event types for the catalogue (imported: registering is the effect) |
| ``roles`` | role permissions (imported) |
| ``notifications`` | notification kinds and producers (imported) |
| ``subscribers`` | outbox subscribers (imported) |
| ``pages`` | partial templates for the core pages' slots (``mes.pages.slots``, imported) |
| ``urls`` | ``urlpatterns``: pages, mounted at the root |
| ``api.urls`` | ``routes`` (prefix, viewset, basename) for the API router, ``urlpatterns`` |
| ``routing`` | ``websocket_urlpatterns`` |
| ``tasks`` | ``PERIODIC_TASKS``: name -> :class:`mes.tasks.Periodic` |
| ``demo`` | ``seed(plant)``: demo data, run by ``manage.py seed_demo`` in app order |
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import module_has_submodule

# Imported at start-up, in this order: types first, then what refers to them.
REGISTERING = ("events", "roles", "notifications", "subscribers", "pages")


def andon_apps() -> list:
    """The app configs of ``settings.ANDON_APPS``, in that order."""
    configs = {config.name: config for config in apps.get_app_configs()}
    return [configs[name] for name in settings.ANDON_APPS]


def app_modules(dotted: str) -> list[ModuleType]:
    """``<app>.<dotted>`` of every Andon app that has it, in app order."""
    found = []
    for config in andon_apps():
        module = config.module
        parts = dotted.split(".")
        for n, part in enumerate(parts):
            if not module_has_submodule(module, part):
                break
            module = import_module(f"{config.name}.{'.'.join(parts[: n + 1])}")
        else:
            found.append(module)
    return found


def register_contributions() -> None:
    """Import every app's registering modules, then the plug-ins named in settings."""
    for name in REGISTERING:
        app_modules(name)
    for module in settings.ANDON_SUBSCRIBER_MODULES:
        import_module(module)


def collect(dotted: str, attribute: str) -> list:
    """``attribute`` of every app's ``dotted`` module, concatenated."""
    items = []
    for module in app_modules(dotted):
        items.extend(getattr(module, attribute, ()))
    return items
