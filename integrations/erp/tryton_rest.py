"""Tryton's REST API as the adapter uses it: ``<base_url>rest/model/<model>[/<id>[/<action>]]``
with the endpoint's key, and errors said in one line (the answer kept apart)."""

from __future__ import annotations

import base64

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .destinations import UnsafeDestination, check_destination, excerpt, redact
from .models import ErpEndpoint
from .outbound.adapters import RETRY_STATUSES
from .tryton_json import dumps, loads

PAGE = 200


class TrytonError(Exception):
    """A one-line cause (``HTTP 401: wrong key…``) and, in ``details``, what Tryton answered."""

    def __init__(
        self, message: str, *, status: int | None = None, retry: bool = False, details: str = ""
    ):
        super().__init__(message)
        self.status = status
        self.retry = retry
        self.details = details


MEANINGS = {
    401: gettext_lazy(
        "wrong key: Tryton refused the auth value (a REST key of res.user.application, "
        "validated in Tryton)"
    ),
    403: gettext_lazy("the key's user may not do this (the production and stock groups)"),
    404: gettext_lazy(
        "this URL is not Tryton's REST root: expected http(s)://host:port/<database>/"
    ),
    405: gettext_lazy(
        "this URL is not Tryton's REST root: expected http(s)://host:port/<database>/"
    ),
    429: gettext_lazy("Tryton asks to slow down"),
}


def _meaning(status: int, text: str) -> str:
    """What an error answer means, in one line: Tryton's own message when it sent JSON,
    otherwise what the status says (never the page itself)."""
    try:
        data = loads(text)
    except Exception:  # not JSON, or not Tryton's: the status says it  # noqa: BLE001
        data = None
    if isinstance(data, dict) and data.get("message"):
        message = str(data["message"])
        return f"{message} ({data['description']})" if data.get("description") else message
    if status in MEANINGS:
        return str(MEANINGS[status])
    return str(_("Tryton failed (server error)") if status >= 500 else _("Tryton refused it"))


class TrytonRest:
    """``<base_url>rest/model/<model>[/<id>[/<action>]]`` with the endpoint's key."""

    def __init__(self, endpoint: ErpEndpoint) -> None:
        import httpx

        if not endpoint.base_url:
            raise TrytonError(_("The Tryton endpoint has no URL."))
        try:
            check_destination(endpoint.base_url)
        except UnsafeDestination as exc:
            raise TrytonError(str(exc)) from exc
        self.base = endpoint.base_url.rstrip("/") + "/rest/model"
        key = endpoint.auth_value
        headers = {"Content-Type": "application/json"}
        if key:
            headers[endpoint.auth_header or "Authorization"] = (
                key if " " in key else f"Bearer {key}"
            )
        self.secrets = [s for s in (endpoint.auth_value, endpoint.hmac_secret) if s]
        try:
            self.http = httpx.Client(headers=headers, timeout=endpoint.call_timeout())
        except (UnicodeError, ValueError) as exc:
            raise TrytonError(_("The auth value has characters a header cannot carry.")) from exc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.http.close()

    def _call(self, method: str, path: str, *, params=None, body=None):
        import httpx

        try:
            response = self.http.request(
                method,
                f"{self.base}/{path}",
                params=params,
                content=None if body is None else dumps(body),
            )
        except httpx.HTTPError as exc:
            # Its text may quote the request (a header, the key): the secrets are taken out.
            message = redact(excerpt(f"{type(exc).__name__}: {exc}"), self.secrets)
            raise TrytonError(message, retry=True) from exc
        if response.status_code >= 400:
            status = response.status_code
            raise TrytonError(
                f"HTTP {status}: {excerpt(_meaning(status, response.text), 200)}",
                status=status,
                retry=status in RETRY_STATUSES or status >= 500,
                details=redact(excerpt(response.text, 2000), self.secrets),
            )
        if not response.content:
            return None
        try:
            return loads(response.text)
        except Exception as exc:  # noqa: BLE001  (any answer that is not Tryton's JSON)
            raise TrytonError(
                _("HTTP %(status)s: not a Tryton REST answer.") % {"status": response.status_code},
                status=response.status_code,
                details=redact(excerpt(response.text, 2000), self.secrets),
            ) from exc

    def search(self, model: str, domain, fields, *, limit=PAGE, offset=0, order=None):
        params = [("d", _b64(domain)), ("s", str(limit)), ("p", str(offset))]
        if order:
            params.append(("o", _b64(order)))
        params += [("f", f) for f in fields]
        return self._call("GET", model, params=params)

    def read(self, model: str, pk: int, fields):
        return self._call("GET", f"{model}/{pk}", params=[("f", f) for f in fields])

    def write(self, model: str, pk: int, values: dict):
        return self._call("PUT", f"{model}/{pk}", body=values)

    def button(self, model: str, pk: int, action: str):
        return self._call("POST", f"{model}/{pk}/{action}", body={})


def _b64(value) -> str:
    return base64.urlsafe_b64encode(dumps(value).encode()).decode()
