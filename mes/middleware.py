"""Request id: stamped on every history row written while serving the request; and the
client's address as far as it can be trusted."""

import ipaddress
import re
import uuid
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from mes import config_cache
from mes.audit.context import _request_id, channel, channel_of_path

# What a proxy or client may send as its request id: short, printable, no separators that
# would split a log line.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+/=-]{1,64}")


def client_address(request) -> str | None:
    """The client's IP address: the peer's, or with ``TRUSTED_PROXY_COUNT`` proxies in front
    the address the outermost trusted proxy saw (X-Forwarded-For read from the right, so a
    client cannot choose its own). ``None`` when that is not an IP address."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.ANDON_TRUSTED_PROXY_COUNT
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            address = hops[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class RequestIdMiddleware:
    """Take ``X-Request-ID`` from the client when it is a sane id, else make one; echo it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = _request_id.set(rid)
        try:
            with config_cache.scope(), channel(channel_of_path(request.path)):
                # the configuration's generation, read once per request
                response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


class RejectNulMiddleware:
    """A NUL character in the path or the query string (``%00``) is answered 400 before any
    view: no database takes it, and no view should have to think of it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or b"\x00" in unquote_to_bytes(raw):
            message = _("NUL characters are not allowed in the address.")
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid_characters", "detail": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """A Content-Security-Policy on every answer: scripts, styles, images, fonts and
    connections from this origin only (and its websockets), no plugins, no framing, forms
    posting here only. Inline ``style=""`` attributes are allowed (the tiles' colours); inline
    scripts are not, except on the API's interactive docs (Swagger UI boots inline)."""

    INLINE_SCRIPT_PATHS = ("/api/docs/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        host = request.get_host() if request.META.get("HTTP_HOST") else ""
        sockets = f" ws://{host} wss://{host}" if host else ""
        if settings.ANDON_WEBSOCKET_URL:
            sockets += " " + settings.ANDON_WEBSOCKET_URL
        scripts = "'self'"
        if request.path.startswith(self.INLINE_SCRIPT_PATHS):
            scripts += " 'unsafe-inline'"
        response["Content-Security-Policy"] = "; ".join(
            [
                "default-src 'self'",
                f"script-src {scripts}",
                "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data: blob:",
                f"connect-src 'self'{sockets}",
                "object-src 'none'",
                "base-uri 'self'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            ]
        )
        return response


class AdminTimeZoneMiddleware:
    """The admin shows times in the plant's zone, as the floor does: the zone of the user's
    sites when they share one (one plant, or plants in one zone), else ``TIME_ZONE``. The
    admin's header says which (``request.admin_time_zone``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/admin/") or not request.user.is_authenticated:
            return self.get_response(request)
        from django.utils import timezone

        from mes.models import Site

        zones = set(Site.objects.visible_to(request.user).values_list("timezone", flat=True))
        zone = zones.pop() if len(zones) == 1 else settings.TIME_ZONE
        request.admin_time_zone = zone
        with timezone.override(zone):
            return self.get_response(request)
