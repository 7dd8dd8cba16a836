"""The routes the authorization matrix covers, found from the URL configuration and the admin
registry (tests/andon/test_authz_matrix.py)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def plain_routes() -> dict[str, str]:
    """Every API route and page that takes no argument: {name: path}."""
    routes = {}
    for pattern, entry in _walk(get_resolver().url_patterns):
        if "<" in pattern or "(?P" in pattern or not entry.name:
            continue
        if pattern.startswith(("admin/", "i18n/", "logout/", "login/")):
            continue
        path = "/" + pattern.replace("^", "").replace("$", "").replace("\\", "")
        routes[entry.name] = path
    return routes


def admin_changelists() -> dict[str, str]:
    return {
        f"admin:{m._meta.app_label}_{m._meta.model_name}": (
            f"/admin/{m._meta.app_label}/{m._meta.model_name}/"
        )
        for m in admin.site._registry
    }
