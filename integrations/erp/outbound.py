"""Outcomes to the ERP, exactly once and in order per work order.

The ``erp`` outbox subscriber turns each event of a type an active :class:`ErpEndpoint`
wants (and of one of its sites) into an :class:`ErpDelivery`, in the relay's transaction; after
commit a Celery task delivers it. An attempt renders the endpoint's mapping for the event type
(:func:`render`), and hands the body to the endpoint's adapter (:data:`adapters`). The generic
REST adapter POSTs it with ``Idempotency-Key: <event id>`` and ``X-Andon-Signature:
t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

- 2xx: delivered; ``acknowledged_at`` closes the event's time to ERP.
- Network errors, timeouts, 408, 425, 429 and 5xx: retried with exponential backoff and
  jitter (``Retry-After`` honoured), until ``max_attempts``; then a dead letter.
- Any other 4xx (the ERP refused the content: a mapping to fix): a dead letter at once.

A dead letter notifies the endpoint's owner; the admin retries (same event, same key) or
replays it. Order: a delivery is attempted only when no earlier pending delivery of the same
work order to the same endpoint exists (a dead letter does not hold the later ones back). The
head of each chain is locked with ``SKIP LOCKED``, so any number of workers may deliver at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime

from celery import shared_task
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, IntegerField, Min, OuterRef
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.events import catalogue
from mes.models import OutboxDelivery, OutboxEvent
from mes.registry import Registry

from .models import ErpDelivery, ErpEndpoint

log = logging.getLogger(__name__)

SUBSCRIBER = "erp"
BACKOFF_CAP = 600.0  # seconds; attempt n waits ANDON_ERP_BACKOFF * 2**(n-1), times 0.5..1.5
RETRY_STATUSES = {408, 425, 429}


# --- rendering ------------------------------------------------------------------------------

_WHOLE = re.compile(r"^\{\{\s*([\w.]+)\s*\}\}$")
_INLINE = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")


def event_context(event: OutboxEvent) -> dict:
    return {
        "event": {
            "id": str(event.event_id),
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "site": event.site.code if event.site_id else None,
            "aggregate_type": event.aggregate_type,
            "aggregate_id": event.aggregate_id,
            "reason": event.reason,
        },
        "payload": event.payload,
    }


def _lookup(context: dict, path: str):
    value = context
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def render(template, context: dict):
    """The ERP body for ``template``: every string ``"{{ path }}"`` becomes the value at
    ``path`` (``event.id``, ``payload.good_qty``, ...) with its JSON type; ``{{ path }}``
    inside a longer string is replaced by its text; dicts and lists are walked."""
    if isinstance(template, dict):
        return {key: render(value, context) for key, value in template.items()}
    if isinstance(template, list):
        return [render(value, context) for value in template]
    if isinstance(template, str):
        whole = _WHOLE.match(template)
        if whole:
            return _lookup(context, whole.group(1))
        return _INLINE.sub(lambda m: str(_lookup(context, m.group(1)) or ""), template)
    return template


def default_body(context: dict) -> dict:
    event = context["event"]
    return {
        "event_id": event["id"],
        "type": event["type"],
        "occurred_at": event["occurred_at"],
        "site": event["site"],
        "payload": context["payload"],
    }


def body_for(endpoint: ErpEndpoint, event: OutboxEvent) -> dict:
    context = event_context(event)
    template = (endpoint.mapping or {}).get(event.type)
    return render(template, context) if template is not None else default_body(context)


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``; the ERP recomputes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


# --- adapters -------------------------------------------------------------------------------


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
        try:
            response = _client().post(
                endpoint.base_url, content=data, headers=headers, timeout=endpoint.timeout_seconds
            )
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000], retry=True)
        text = response.text[:2000]
        if 200 <= response.status_code < 300:
            return Outcome(True, status=response.status_code, response=text)
        retry = response.status_code in RETRY_STATUSES or response.status_code >= 500
        return Outcome(
            False,
            status=response.status_code,
            error=f"HTTP {response.status_code}: {text[:500]}",
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
    """An import from the ERP could not run (its cause is kept on the endpoint)."""


def sync_now(endpoint: ErpEndpoint) -> dict:
    """Import orders from a polling endpoint; a failure is recorded on the endpoint and
    raised as :class:`SyncFailed`."""
    if not polls(endpoint):
        raise SyncFailed(
            _("The %(adapter)s adapter does not import orders.") % {"adapter": endpoint.adapter}
        )
    try:
        return adapters[endpoint.adapter].sync(endpoint)
    except SyncFailed as exc:
        record_sync(endpoint, {"error": str(exc)[:1000]})
        raise


def record_sync(endpoint: ErpEndpoint, summary: dict) -> None:
    """Keep the last sync's outcome on the endpoint. A status, not a configuration change:
    both fields are left out of the endpoint's history, so no history row is written."""
    endpoint.synced_at = timezone.now()
    endpoint.sync_summary = summary
    ErpEndpoint.objects.filter(pk=endpoint.pk).update(
        synced_at=endpoint.synced_at, sync_summary=summary
    )


def adapter_choices() -> list[tuple[str, str]]:
    return adapters.choices()


# --- the outbox subscriber ------------------------------------------------------------------


def endpoints_for(event: OutboxEvent) -> list[ErpEndpoint]:
    wanted = []
    for endpoint in ErpEndpoint.objects.filter(is_active=True).prefetch_related("sites"):
        if event.type not in (endpoint.event_types or []):
            continue
        sites = {s.pk for s in endpoint.sites.all()}
        if sites and event.site_id not in sites:
            continue
        wanted.append(endpoint)
    return wanted


def enqueue_deliveries(event: OutboxEvent) -> None:
    """One delivery per endpoint that wants the event; delivered after the relay commits.
    A type with ``erp_only_if`` (``exception.resolved``) goes only when its payload says so."""
    flag = catalogue.event_type(event.type).erp_only_if
    if (flag and not (event.payload or {}).get(flag)) or _from_the_erp(event):
        return
    endpoints = endpoints_for(event)
    if not endpoints:
        return
    work_order_id = event.payload.get("work_order_id") if isinstance(event.payload, dict) else None
    for endpoint in endpoints:
        ErpDelivery.objects.get_or_create(
            endpoint=endpoint, event=event, defaults={"work_order_id": work_order_id}
        )
    ids = [e.pk for e in endpoints if pushes(e)]
    if ids:
        transaction.on_commit(lambda: _kick(ids))


def _from_the_erp(event: OutboxEvent) -> bool:
    """A change the ERP itself made (its account holds ``erp.ingest_erp``) is not sent back."""
    actor = event.actor
    return actor is not None and actor.is_active and actor.has_perm("erp.ingest_erp")


@shared_task(name="integrations.erp.tasks.deliver_endpoint", acks_late=True, ignore_result=True)
def deliver_endpoint(endpoint_id: int) -> int:
    """Deliver what is due for one endpoint (safe in any number of workers at once)."""
    return deliver_endpoint_now(endpoint_id)


def _kick(endpoint_ids: list[int], countdown: float | None = None) -> None:
    for pk in endpoint_ids:
        try:
            deliver_endpoint.apply_async((pk,), countdown=countdown)
        except Exception:  # broker down: the periodic sweep delivers later
            log.exception("could not enqueue ERP delivery for endpoint %s", pk)


# --- delivering -----------------------------------------------------------------------------


HEADS_PER_LOOK = 200


def first_in_relay_by_chain(endpoint: ErpEndpoint, chains: set[int], below: int) -> dict:
    """Per work order of ``chains``, the first event (below ``below``) of a type the endpoint
    wants that the relay has not handed to this subscriber yet: later events of that work
    order must wait for it."""
    if not chains:
        return {}
    return dict(
        OutboxEvent.objects.filter(
            delivered_at__isnull=True, type__in=endpoint.event_types or [], pk__lt=below
        )
        .filter(
            ~Exists(OutboxDelivery.objects.filter(event_id=OuterRef("pk"), subscriber=SUBSCRIBER))
        )
        .annotate(chain=Cast(KeyTextTransform("work_order_id", "payload"), IntegerField()))
        .filter(chain__in=chains)
        .values("chain")
        .annotate(first=Min("pk"))
        .values_list("chain", "first")
    )


def next_head(endpoint: ErpEndpoint, now=None) -> ErpDelivery | None:
    """Lock and return a due pending delivery that is first in its work order's chain: no
    earlier event of the same work order is still pending for this endpoint, or still on its
    way through the outbox relay (relays run in parallel: a later event may become a delivery
    before an earlier one does). Rows another worker holds are skipped. A few small queries
    whatever the backlog: the due candidates, then the chains' first events, then the lock."""
    now = now or timezone.now()
    pending = ErpDelivery.objects.filter(endpoint=endpoint, status=ErpDelivery.Status.PENDING)
    due = list(
        pending.filter(next_attempt_at__lte=now)
        .order_by("event_id")
        .values_list("pk", "work_order_id", "event_id")[:HEADS_PER_LOOK]
    )
    if not due:
        return None
    chains = {wo for _pk, wo, _event in due if wo is not None}
    # The events still in the relay, before the pending deliveries: a relay that commits in
    # between is then seen by the second query (its delivery) or blocks by the first.
    first_in_relay = first_in_relay_by_chain(endpoint, chains, max(e for _p, _w, e in due))
    first_pending = dict(
        pending.filter(work_order_id__in=chains)
        .values("work_order_id")
        .annotate(first=Min("event_id"))
        .values_list("work_order_id", "first")
    )
    for pk, work_order_id, event_id in due:
        if work_order_id is not None and (
            first_pending.get(work_order_id) != event_id
            or first_in_relay.get(work_order_id, event_id) < event_id
        ):
            continue
        locked = (
            ErpDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=pk, status=ErpDelivery.Status.PENDING, next_attempt_at__lte=now)
            .select_related("event", "event__site")
            .first()
        )
        if locked is None:
            continue
        if (
            work_order_id is None
            or not pending.filter(work_order_id=work_order_id, event_id__lt=event_id).exists()
        ):
            return locked
    return None


def deliver_endpoint_now(endpoint_id: int, limit: int = 500) -> int:
    """Attempt due deliveries of one endpoint, chain heads first, until none is due or
    ``limit`` attempts were made. Safe to run in any number of workers at once. Returns the
    number of attempts."""
    endpoint = ErpEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is None or not pushes(endpoint):
        return 0
    attempts = 0
    while attempts < limit:
        with transaction.atomic():
            delivery = next_head(endpoint)
            if delivery is None:
                break
            attempt(endpoint, delivery)
            attempts += 1
    return attempts


def attempt(endpoint: ErpEndpoint, delivery: ErpDelivery) -> None:
    """One try, in the caller's transaction holding the delivery's row lock."""
    adapter = adapters.get(endpoint.adapter)
    now = timezone.now()
    delivery.attempts += 1
    if adapter is None:
        outcome = Outcome(False, error=f"no adapter {endpoint.adapter!r}")
    else:
        try:
            outcome = adapter.deliver(endpoint, delivery, body_for(endpoint, delivery.event))
        except Exception as exc:  # a bug in an adapter or a mapping: keep the worker alive
            log.exception("ERP adapter %s failed on delivery %s", endpoint.adapter, delivery.pk)
            outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000], retry=True)
    delivery.last_status = outcome.status
    delivery.response_body = outcome.response
    if outcome.delivered:
        delivery.status = ErpDelivery.Status.DELIVERED
        delivery.acknowledged_at = timezone.now()
        delivery.last_error = ""
        delivery._change_reason = "delivered"
    elif outcome.retry and delivery.attempts < endpoint.max_attempts:
        delay = backoff(delivery.attempts, outcome.retry_after)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        delivery.last_error = outcome.error
        delivery._change_reason = "retry"
        transaction.on_commit(lambda: _kick([endpoint.pk], countdown=delay))
    else:
        delivery.status = ErpDelivery.Status.DEAD
        delivery.last_error = outcome.error
        delivery._change_reason = "dead letter"
        transaction.on_commit(lambda: notify_dead_letter(delivery.pk))
    delivery.save()


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next try: exponential with jitter, at least ``Retry-After``."""
    base = settings.ANDON_ERP_BACKOFF
    delay = min(BACKOFF_CAP, base * 2 ** (attempts - 1)) * random.uniform(0.5, 1.5)  # noqa: S311
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_CAP))
    return delay


def notify_dead_letter(delivery_pk: int) -> None:
    from mes.notifications import Message, send

    delivery = ErpDelivery.objects.select_related("endpoint__owner", "event").get(pk=delivery_pk)
    owner = delivery.endpoint.owner
    if owner is None:
        return
    with transaction.atomic():
        send(
            Message(
                "erp_dead_letter",
                [owner],
                title=_("ERP delivery failed: %(type)s to %(endpoint)s")
                % {"type": delivery.event.type, "endpoint": delivery.endpoint.name},
                body=delivery.last_error[:500],
                link=f"/admin/erp/erpdelivery/{delivery.pk}/change/",
                related=delivery,
            )
        )


def redeliver(delivery: ErpDelivery, *, actor, reason: str) -> ErpDelivery:
    """Send a delivery again from the admin: a dead letter after the cause was fixed (retry),
    or one already delivered that the ERP lost (replay). Same event, same Idempotency-Key: an
    ERP that applied it already answers without applying it twice."""
    with transaction.atomic():
        delivery = ErpDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.status = ErpDelivery.Status.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.acknowledged_at = None
        delivery.feed_position = None  # a pull endpoint serves it again, at the feed's end
        delivery._history_user = actor
        delivery._change_reason = reason[:100]
        delivery.save()
        if pushes(delivery.endpoint):
            endpoint_id = delivery.endpoint_id
            transaction.on_commit(lambda: _kick([endpoint_id]))
    return delivery
