"""Websocket authentication and origin checks.

A connection is authenticated by the session cookie (browsers) or by an API token, sent as
``Authorization: Token <key>`` or, for clients that cannot set headers, ``?token=<key>``. A
token that is present but unknown, or belongs to an inactive user, makes the connection
anonymous (refused by the consumer) even when a session cookie is also present.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin1").partition(" ")
            if scheme.lower() == "token":
                return key.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    if query.get("token"):
        return query["token"][0]
    return None


@database_sync_to_async
def user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware:
    """Puts the token's user in ``scope["user"]`` when a token is given (DRF authtoken)."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        key = _token_from_scope(scope)
        if key is not None:
            scope = {**scope, "user": await user_for_token(key)}
        return await self.inner(scope, receive, send)


def TokenOrSessionAuth(inner):  # noqa: N802  (reads like the middleware class it builds)
    """Session auth first (sets the cookie user), then a token, when given, overrides it."""
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


class BrowserOriginValidator(OriginValidator):
    """Refuses cross-site browser connections (which would ride on the session cookie), but lets
    in clients that send no ``Origin`` at all: those are not browsers, and they authenticate
    with a token."""

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def allowed_origins(inner):
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(inner, hosts)
