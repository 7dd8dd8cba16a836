"""API authentication by named, hashed tokens (``Authorization: Token <key>``).

A key that matches no usable token (unknown, revoked, expired, its account inactive) is
answered 401 ``authentication_failed``. Wrong keys are counted per client address: past
``TOKEN_FAILURE_LIMIT`` a minute, that address's wrong keys are answered 429 (and logged as
such), while good keys from it keep working: a broken script behind the plant's NAT does not
stop everyone else's. Keys are 256 random bits; the limit is about noise and load, not odds.

A read-only token writes nothing (403 ``read_only_token``) except on views marked
``allow_read_only_tokens``; a service account's token (the ERP's: only service roles) reaches
only views marked ``open_to_service_accounts`` (True, or the viewset's actions that are;
403 ``service_account``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from mes.middleware import client_address
from mes.services.tokens import token_for_key

FAILURE_WINDOW = 60  # seconds


class InvalidToken(exceptions.AuthenticationFailed):
    default_detail = _("Invalid, expired or revoked token.")
    default_code = "authentication_failed"  # the code clients have always seen


class ReadOnlyToken(exceptions.PermissionDenied):
    default_detail = _("This token is read-only.")
    default_code = "read_only_token"


class ServiceAccountLimited(exceptions.PermissionDenied):
    default_detail = _("A service account uses only the endpoints made for it.")
    default_code = "service_account"


class TooManyWrongTokens(exceptions.Throttled):
    default_detail = _("Too many wrong tokens from this address; wait a minute.")
    default_code = "too_many_attempts"


def _failures_key(address: str | None) -> str:
    return f"andon:token-failures:{address or '-'}"


def _open_to_services(view) -> bool:
    """``open_to_service_accounts``: True, or the viewset actions that are."""
    opened = getattr(view, "open_to_service_accounts", False)
    if isinstance(opened, tuple | list | set | frozenset):
        return getattr(view, "action", None) in opened
    return bool(opened)


class ApiTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise InvalidToken(_("Give the token as: Authorization: Token <key>."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise InvalidToken() from error
        address = client_address(request._request)
        token = token_for_key(key, address=address)
        if token is None:
            raise self._failure(address)
        view = (getattr(request, "parser_context", None) or {}).get("view")
        if token.read_only and request.method not in SAFE_METHODS:
            if not getattr(view, "allow_read_only_tokens", False):
                raise ReadOnlyToken()
        if getattr(token, "service", False) and not _open_to_services(view):
            raise ServiceAccountLimited()
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword

    @staticmethod
    def _failure(address: str | None) -> exceptions.APIException:
        key = _failures_key(address)
        try:
            failures = cache.incr(key)
        except ValueError:
            cache.set(key, 1, FAILURE_WINDOW)
            failures = 1
        if failures > settings.ANDON_TOKEN_FAILURE_LIMIT:
            return TooManyWrongTokens(wait=FAILURE_WINDOW)
        return InvalidToken()


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _(
                "`Token <key>`: a named API token (admin, `POST /api/v1/tokens/`, or "
                "`manage.py issue_token USERNAME`)."
            ),
        }
