"""The admin's JSON endpoints behind the builders (form preview, workflow diagram)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST


def json_endpoint(admin_view, handler: Callable[[object, dict], dict], *, limit: int, shape: str):
    """A view for ``admin_view.get_urls()``: POST only (405), signed in to the admin (else its
    sign-in), for who may see the model (403); the body a JSON object of at most ``limit``
    bytes (413 ``too_large``; 400 ``invalid_json`` naming ``shape``), answered with
    ``handler(request, payload)``. Reads only: nothing is saved."""

    def view(request):
        if not admin_view.has_view_or_change_permission(request):
            raise PermissionDenied
        if len(request.body) > limit:
            return JsonResponse(
                {"code": "too_large", "detail": gettext("The request is too large.")}, status=413
            )
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return JsonResponse(
                {"code": "invalid_json", "detail": gettext("Send %(shape)s.") % {"shape": shape}},
                status=400,
            )
        return JsonResponse(handler(request, payload))

    return require_POST(admin_view.admin_site.admin_view(view))
