"""Deliveries: one per endpoint that wants an event (the ``erp`` outbox subscriber), attempted
chain head first per work order, retried with backoff, dead letters told to the owner."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, IntegerField, Min, OuterRef
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.events import catalogue
from mes.models import OutboxDelivery, OutboxEvent

from ..destinations import excerpt
from ..models import ErpDelivery, ErpEndpoint
from .adapters import Outcome, adapters, pushes
from .rendering import body_for

log = logging.getLogger(__name__)

SUBSCRIBER = "erp"
BACKOFF_CAP = 600.0  # seconds; attempt n waits ANDON_ERP_BACKOFF * 2**(n-1), times 0.5..1.5


def endpoints_for(event: OutboxEvent) -> list[ErpEndpoint]:
    wanted = []
    for endpoint in ErpEndpoint.objects.filter(is_active=True).prefetch_related("sites"):
        if event.type not in (endpoint.event_types or []):
            continue
        if event.site_id not in {s.pk for s in endpoint.sites.all()}:
            continue  # an endpoint serves the sites it names, and no site means none
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
    ``limit`` attempts were made. Safe to run in any number of workers at once: each claims a
    head in a short transaction, calls the ERP with no transaction open and no row locked, and
    records the outcome in a second one. Returns the number of attempts."""
    endpoint = ErpEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is None or not pushes(endpoint):
        return 0
    attempts = 0
    while attempts < limit:
        delivery = claim(endpoint)
        if delivery is None:
            break
        if delivery.status == ErpDelivery.Status.PENDING:
            record(endpoint, delivery, call(endpoint, delivery))
        attempts += 1
    return attempts


LEASE_MARGIN = 60.0  # seconds a claim outlives the call's timeout before another worker may retry


def claim(endpoint: ErpEndpoint) -> ErpDelivery | None:
    """Take the next chain head: count the attempt and lease the row (``next_attempt_at`` past
    the call's timeout), committed before the call. A worker that dies during the call leaves
    the attempt counted; once the lease runs out another worker retries, and a delivery whose
    attempts are spent that way becomes a dead letter instead of being called again. The
    delivery stays pending while leased, so later events of its work order keep waiting."""
    with transaction.atomic():
        delivery = next_head(endpoint)
        if delivery is None:
            return None
        if delivery.attempts >= endpoint.max_attempts:
            delivery.status = ErpDelivery.Status.DEAD
            delivery.last_error = _(
                "No outcome was recorded for attempt %(n)s: the worker stopped during the call."
            ) % {"n": delivery.attempts}
            delivery._change_reason = "dead letter"
            delivery.save()
            pk = delivery.pk
            transaction.on_commit(lambda: notify_dead_letter(pk))
            return delivery
        delivery.attempts += 1
        lease = timezone.now() + timedelta(seconds=endpoint.call_timeout() + LEASE_MARGIN)
        # The lease is not a change of the delivery: no history row (the outcome writes one).
        ErpDelivery.objects.filter(pk=delivery.pk).update(
            attempts=delivery.attempts, next_attempt_at=lease
        )
    return delivery


def call(endpoint: ErpEndpoint, delivery: ErpDelivery) -> Outcome:
    """One call to the ERP through the endpoint's adapter (outside any transaction)."""
    adapter = adapters.get(endpoint.adapter)
    if adapter is None:
        return Outcome(False, error=f"no adapter {endpoint.adapter!r}")
    try:
        return adapter.deliver(endpoint, delivery, body_for(endpoint, delivery.event))
    except Exception as exc:  # a bug in an adapter or a mapping: keep the worker alive
        log.exception("ERP adapter %s failed on delivery %s", endpoint.adapter, delivery.pk)
        return Outcome(False, error=excerpt(f"{type(exc).__name__}: {exc}"), retry=True)


def record(endpoint: ErpEndpoint, claimed: ErpDelivery, outcome: Outcome) -> None:
    """Write what the call gave, under the row's lock. A delivery acknowledged is recorded
    whatever happened meanwhile; a failure only if the row is still this claim's (the admin
    may have sent it again, or a later claim taken it over after the lease)."""
    with transaction.atomic():
        delivery = (
            ErpDelivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(pk=claimed.pk, status=ErpDelivery.Status.PENDING)
            .first()
        )
        if delivery is None or (not outcome.delivered and delivery.attempts != claimed.attempts):
            return
        now = timezone.now()
        delivery.last_status = outcome.status
        delivery.response_body = outcome.response
        if outcome.delivered:
            delivery.status = ErpDelivery.Status.DELIVERED
            delivery.acknowledged_at = now
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
            pk = delivery.pk
            transaction.on_commit(lambda: notify_dead_letter(pk))
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
