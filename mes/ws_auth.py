"""Websocket authentication and origin checks.

A connection is authenticated by the session cookie (browsers), by a single-use ticket in the
URL (``?ticket=<ticket>`` from ``POST /api/v1/ws-tickets/``: scripts, which should not put a
long-lived token in a URL that access logs keep) or by an API token in the ``Authorization:
Token <key>`` header (clients that can set headers). A ticket or token that is given but not
valid makes the connection anonymous (refused by the consumer) even when a session cookie is
also present. A socket opened with a token or ticket remembers the token
(``scope["andon_token_id"]``): revoking it closes the socket.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser


def _credential_from_scope(scope) -> tuple[str, str] | None:
    """``("token", key)``, ``("ticket", ticket)`` or None."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin1").partition(" ")
            if scheme.lower() == "token":
                return "token", key.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    if query.get("ticket"):
        return "ticket", query["ticket"][0]
    return None


def _address(scope) -> str | None:
    client = scope.get("client") or (None, None)
    return client[0]


@database_sync_to_async
def _authenticate(kind: str, key: str, address: str | None):
    from mes.services.tokens import redeem_ws_ticket, token_for_key

    if kind == "token":
        token = token_for_key(key, address=address)
        return (token.user, token.pk) if token is not None else (AnonymousUser(), None)
    redeemed = redeem_ws_ticket(key)
    if redeemed is None:
        return AnonymousUser(), None
    user, token = redeemed
    return user, (token.pk if token is not None else None)


class CredentialAuthMiddleware:
    """Puts the token's or ticket's user in ``scope["user"]`` when one is given."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        given = _credential_from_scope(scope)
        if given is not None:
            user, token_id = await _authenticate(*given, _address(scope))
            scope = {**scope, "user": user, "andon_token_id": token_id}
        return await self.inner(scope, receive, send)


def CredentialOrSessionAuth(inner):  # noqa: N802  (reads like the middleware class it builds)
    """Session auth first (sets the cookie user), then a ticket or token, when given,
    overrides it."""
    return AuthMiddlewareStack(CredentialAuthMiddleware(inner))


class BrowserOriginValidator(OriginValidator):
    """Refuses cross-site browser connections (which would ride on the session cookie), but lets
    in clients that send no ``Origin`` at all: those are not browsers, and they authenticate
    with a ticket or a token."""

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def allowed_origins(inner):
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(inner, hosts)
