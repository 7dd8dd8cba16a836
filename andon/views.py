"""Error pages of the project: under ``/api/`` in the API's JSON error shape, else HTML."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def _api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _api(request):
        return JsonResponse({"code": "not_found", "detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _api(request):
        return JsonResponse({"code": "server_error", "detail": _("Server error.")}, status=500)
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if _api(request):
        return JsonResponse({"code": "bad_request", "detail": _("Bad request.")}, status=400)
    return defaults.bad_request(request, exception)
