"""How a delivery reaches an ERP: the adapters (REST, pull feed, Tryton) and what one attempt
gave (:class:`Outcome`); and the import of orders from a polling ERP."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.registry import Registry

from ..destinations import UnsafeDestination, check_destination, excerpt, redact
from ..models import ErpDelivery, ErpEndpoint
from .rendering import signature

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 425, 429}


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: delivered, or an error and whether trying again may help."""

    delivered: bool
    status: int | None = None
    error: str = ""
    retry: bool = False
    retry_after: float | None = None
    response: str = ""


class RestAdapter:
    """The generic REST/webhook adapter: POST the rendered body to ``base_url``."""

    name = "rest"
    label = gettext_lazy("REST / webhook")
    concurrent = True  # no database access in deliver(); the HTTP client is thread-safe

    def deliver(self, endpoint: ErpEndpoint, delivery: ErpDelivery, body: dict) -> Outcome:
        import httpx

        data = json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": str(delivery.event.event_id),
            "X-Andon-Event": delivery.event.type,
        }
        if endpoint.hmac_secret:
            headers["X-Andon-Signature"] = signature(endpoint.hmac_secret, data)
        if endpoint.auth_value:
            headers[endpoint.auth_header or "Authorization"] = endpoint.auth_value
        secrets = (endpoint.auth_value, endpoint.hmac_secret)  # never in what is stored
        try:
            check_destination(endpoint.base_url)
        except UnsafeDestination as exc:
            return Outcome(False, error=str(exc))  # not retried: the endpoint must change
        try:
            response = _client().post(
                endpoint.base_url, content=data, headers=headers, timeout=endpoint.call_timeout()
            )
        except (httpx.HTTPError, UnicodeError) as exc:  # a bad header value is a UnicodeError
            error = redact(excerpt(f"{type(exc).__name__}: {exc}"), secrets)
            return Outcome(False, error=error, retry=isinstance(exc, httpx.HTTPError))
        text = redact(excerpt(response.text), secrets)
        if 200 <= response.status_code < 300:
            return Outcome(True, status=response.status_code, response=text)
        retry = response.status_code in RETRY_STATUSES or response.status_code >= 500
        return Outcome(
            False,
            status=response.status_code,
            error=redact(f"HTTP {response.status_code}: {excerpt(response.text, 200)}", secrets),
            retry=retry,
            retry_after=_retry_after(response.headers.get("Retry-After")),
            response=text,
        )


_clients: dict[int, object] = {}


def _client():
    """One keep-alive HTTP client per process (building one costs more than a local POST;
    a forked worker child builds its own)."""
    import os

    import httpx

    pid = os.getpid()
    if pid not in _clients:
        _clients.clear()
        _clients[pid] = httpx.Client()
    return _clients[pid]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
        except (TypeError, ValueError):
            return None


class PullAdapter:
    """For ERPs that cannot receive calls: deliveries wait in the endpoint's feed, which the
    ERP reads (``GET /api/v1/erp/events/``) and acknowledges (:mod:`integrations.erp.feed`).
    Nothing is pushed."""

    name = "pull"
    label = gettext_lazy("Pull feed (the ERP reads /api/v1/erp/events/)")
    pushes = False

    def deliver(self, endpoint: ErpEndpoint, delivery: ErpDelivery, body: dict) -> Outcome:
        raise RuntimeError("a pull endpoint is read by the ERP, never pushed to")


adapters = Registry("ERP adapters", "How deliveries reach an ERP (and how a polling one is read).")
adapters.register(RestAdapter.name, RestAdapter())
adapters.register(PullAdapter.name, PullAdapter())


def pushes(endpoint: ErpEndpoint) -> bool:
    return getattr(adapters.get(endpoint.adapter), "pushes", True)


def polls(endpoint: ErpEndpoint) -> bool:
    """The adapter imports orders by polling its ERP (it has ``sync``)."""
    return hasattr(adapters.get(endpoint.adapter), "sync")


class SyncFailed(Exception):
    """An import from the ERP could not run: a one-line cause, and what the ERP answered
    (``details``); both are kept on the endpoint."""

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def sync_now(endpoint: ErpEndpoint) -> dict:
    """Import orders from a polling endpoint; a failure is recorded on the endpoint and
    raised as :class:`SyncFailed`."""
    if not polls(endpoint):
        raise SyncFailed(
            _("The %(adapter)s adapter does not import orders.") % {"adapter": endpoint.adapter}
        )
    try:
        try:
            return adapters[endpoint.adapter].sync(endpoint)
        except SyncFailed:
            raise
        except Exception as exc:  # a bug or an answer no check foresaw: said, not a 500
            log.exception("the sync of endpoint %s failed", endpoint.pk)
            raise SyncFailed(
                _("The import failed unexpectedly (%(error)s).") % {"error": type(exc).__name__}
            ) from exc
    except SyncFailed as exc:
        before = endpoint.sync_summary or {}
        failing_since = before.get("failing_since") or timezone.now().isoformat()
        summary = {"error": excerpt(str(exc)), "failing_since": failing_since}
        if before.get("notified"):
            summary["notified"] = before["notified"]  # a failed sync forgets no rejection told
        if exc.details:
            summary["details"] = excerpt(exc.details, 2000)
        record_sync(endpoint, summary)
        if "error" not in before:  # the first failure of a streak: its owner is told once
            transaction.on_commit(lambda: notify_sync_failed(endpoint.pk))
        raise


def record_sync(endpoint: ErpEndpoint, summary: dict) -> None:
    """Keep the last sync's outcome on the endpoint (and, when it worked, its time apart: a
    failure does not move "last successful sync"). A status, not a configuration change:
    these fields are left out of the endpoint's history, so no history row is written."""
    endpoint.synced_at = timezone.now()
    endpoint.sync_summary = summary
    fields = {"synced_at": endpoint.synced_at, "sync_summary": summary}
    if "error" not in summary:
        endpoint.synced_ok_at = fields["synced_ok_at"] = endpoint.synced_at
    ErpEndpoint.objects.filter(pk=endpoint.pk).update(**fields)


def notify_sync_failed(endpoint_pk: int) -> None:
    from mes.notifications import Message, send

    endpoint = ErpEndpoint.objects.select_related("owner").get(pk=endpoint_pk)
    if endpoint.owner is None:
        return
    with transaction.atomic():
        send(
            Message(
                "erp_sync_failed",
                [endpoint.owner],
                title=_("ERP sync failing: %(endpoint)s") % {"endpoint": endpoint.name},
                body=(endpoint.sync_summary or {}).get("error", "")[:500],
                link=f"/admin/erp/erpendpoint/{endpoint.pk}/change/",
                related=endpoint,
            )
        )


def adapter_choices() -> list[tuple[str, str]]:
    return adapters.choices()
