"""The routes the authorization matrices cover, found from the URL configuration and the admin
registry (tests/andon/test_authz_*.py)."""

from __future__ import annotations

import re

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver

# <int:pk>, (?P<code>...) and a regex's unnamed group ([^/]+): the arguments of a route.
_ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)|\([^)?]*\)")
# Sign-in and language switching answer everyone alike; "view on site" is a redirect to the
# object's own page (the matrix asks that page).
_SKIPPED = ("i18n/", "logout/", "login/", "admin/login/", "admin/logout/", "admin/r/")


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace


def _routes():
    for pattern, entry, namespace in _walk(get_resolver().url_patterns):
        if entry.name and not pattern.startswith(_SKIPPED):
            yield f"{namespace}{entry.name}", pattern, entry


def arguments(pattern: str) -> list[str]:
    """The route's argument names in order (an unnamed group is ``"#1"``, ``"#2"``...)."""
    names, unnamed = [], 0
    for match in _ARGUMENT.finditer(pattern):
        if match.group(1) or match.group(2):
            names.append(match.group(1) or match.group(2))
        else:
            unnamed += 1
            names.append(f"#{unnamed}")
    return names


def fill(pattern: str, values: dict[str, object]) -> str:
    """The path of ``pattern`` with its arguments replaced by ``values``."""
    names = iter(arguments(pattern))
    path = _ARGUMENT.sub(lambda match: str(values[next(names)]), pattern)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def plain_routes() -> dict[str, str]:
    """Every API route, page and admin page that takes no argument: {name: path}."""
    return {name: fill(p, {}) for name, p, _ in _routes() if not arguments(p)}


def object_routes() -> dict[str, tuple[str, object]]:
    """Every route with arguments: {name: (pattern, the URL pattern's entry)}."""
    return {name: (p, entry) for name, p, entry in _routes() if arguments(p)}


def admin_model_of(pattern: str) -> str | None:
    """``admin/mes/workorder/...`` -> ``"mes.workorder"``."""
    match = re.match(r"admin/(\w+)/(\w+)/", pattern)
    return f"{match[1]}.{match[2]}" if match else None


def admin_actions() -> dict[str, tuple[type, str]]:
    """Every admin action of every model: {"<model>:<action>": (model, action)}."""
    found = {}
    for model, model_admin in admin.site._registry.items():
        for _func, name, _description in model_admin._get_base_actions():
            found[f"{model._meta.label_lower}:{name}"] = (model, name)
    return found
