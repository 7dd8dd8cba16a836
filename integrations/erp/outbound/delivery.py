"""Deliveries: one per endpoint that wants an event (the ``erp`` outbox subscriber), attempted
chain head first per work order, retried with backoff, dead letters told to the owner."""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Exists, F, IntegerField, Min, OuterRef
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from mes import config_cache
from mes.audit.context import history_stamps
from mes.bulk import update_rows
from mes.events import catalogue
from mes.models import OutboxDelivery, OutboxEvent

from ..destinations import excerpt
from ..models import ErpDelivery, ErpEndpoint
from .adapters import Outcome, adapters, pushes
from .rendering import body_for

log = logging.getLogger(__name__)

SUBSCRIBER = "erp"
BACKOFF_CAP = 600.0  # seconds; attempt n waits ANDON_ERP_BACKOFF * 2**(n-1), times 0.5..1.5


def _routes() -> list[tuple[int, frozenset[str], frozenset[int], bool]]:
    """Per active endpoint: its id, the event types it wants, its sites, whether it pushes;
    kept until the configuration changes (endpoints are watched)."""

    def load():
        return [
            (
                e.pk,
                frozenset(e.event_types or []),
                frozenset(s.pk for s in e.sites.all()),
                pushes(e),
            )
            for e in ErpEndpoint.objects.filter(is_active=True).prefetch_related("sites")
        ]

    return config_cache.cached("erp_routes", load)


def enqueue_deliveries(events: list[OutboxEvent]) -> None:
    """The ``erp`` outbox subscriber, a chunk of events at a time: one delivery per endpoint
    that wants an event (rows and their history rows in one insert each), delivered after the
    relay commits. A type with ``erp_only_if`` (``exception.resolved``) goes only when its
    payload says so; a change the ERP made is not sent back."""
    routes = _routes()
    if not routes:
        return
    rows, kick = [], set()
    for event in events:
        flag = catalogue.event_type(event.type).erp_only_if
        if (flag and not (event.payload or {}).get(flag)) or _from_the_erp(event):
            continue
        payload = event.payload if isinstance(event.payload, dict) else {}
        for endpoint_id, types, sites, pushed in routes:
            if event.type in types and event.site_id in sites:
                rows.append(
                    ErpDelivery(
                        endpoint_id=endpoint_id,
                        event=event,
                        work_order_id=payload.get("work_order_id"),
                    )
                )
                if pushed:
                    kick.add(endpoint_id)
    if not rows:
        return
    bulk_create_with_history(rows, ErpDelivery, custom_historical_attrs=history_stamps())
    if kick:
        transaction.on_commit(partial(_kick, sorted(kick)))


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


def next_heads(endpoint: ErpEndpoint, limit: int, now=None) -> list[ErpDelivery]:
    """Lock and return up to ``limit`` due pending deliveries that are each first in their work
    order's chain: no earlier event of the same work order is still pending for this endpoint,
    or still on its way through the outbox relay (relays run in parallel: a later event may
    become a delivery before an earlier one does). One head per chain, so they may be called
    at once; rows another worker holds are skipped. A few queries whatever the backlog or
    ``limit``: the due candidates, the chains' first events (relay, pending), the lock, and
    the same check again under the lock."""
    now = now or timezone.now()
    pending = ErpDelivery.objects.filter(endpoint=endpoint, status=ErpDelivery.Status.PENDING)
    due = list(
        pending.filter(next_attempt_at__lte=now)
        .order_by("event_id")
        .values_list("pk", "work_order_id", "event_id")[:HEADS_PER_LOOK]
    )
    if not due:
        return []
    chains = {wo for _pk, wo, _event in due if wo is not None}
    # The events still in the relay, before the pending deliveries: a relay that commits in
    # between is then seen by the second query (its delivery) or blocks by the first.
    first_in_relay = first_in_relay_by_chain(endpoint, chains, max(e for _p, _w, e in due))
    first_pending = _first_pending(pending, chains)
    heads = [
        pk
        for pk, work_order_id, event_id in due
        if work_order_id is None
        or (
            first_pending.get(work_order_id) == event_id
            and first_in_relay.get(work_order_id, event_id) >= event_id
        )
    ][:limit]
    if not heads:
        return []
    locked = list(
        ErpDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=heads, status=ErpDelivery.Status.PENDING, next_attempt_at__lte=now)
        .select_related("event", "event__site")
        .order_by("event_id")
    )
    still_first = _first_pending(pending, {d.work_order_id for d in locked} - {None})
    return [
        d
        for d in locked
        if d.work_order_id is None or still_first.get(d.work_order_id) == d.event_id
    ]


def _first_pending(pending, chains: set[int]) -> dict[int, int]:
    if not chains:
        return {}
    return dict(
        pending.filter(work_order_id__in=chains)
        .values("work_order_id")
        .annotate(first=Min("event_id"))
        .values_list("work_order_id", "first")
    )


def next_head(endpoint: ErpEndpoint, now=None) -> ErpDelivery | None:
    """The first of :func:`next_heads` (locked), or None."""
    heads = next_heads(endpoint, 1, now)
    return heads[0] if heads else None


def deliver_endpoint_now(endpoint_id: int, limit: int = 500) -> int:
    """Attempt due deliveries of one endpoint, chain heads first, until none is due or
    ``limit`` attempts were made. Safe to run in any number of workers at once: each claims
    heads (one per work order, up to ``ANDON_ERP_CALLS_AT_ONCE``) in a short transaction,
    calls the ERP for them at once with no transaction open and no row locked, and records
    the outcomes in a second one. Returns the number of attempts."""
    endpoint = ErpEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is None or not pushes(endpoint):
        return 0
    adapter = adapters.get(endpoint.adapter)
    at_once = max(1, settings.ANDON_ERP_CALLS_AT_ONCE)
    if not getattr(adapter, "concurrent", False):
        at_once = 1  # an adapter that has not said it may be called from several threads
    attempts = 0
    with ThreadPoolExecutor(max_workers=at_once) as pool:
        while attempts < limit:
            claimed = claim_heads(endpoint, min(at_once, limit - attempts))
            if not claimed:
                break
            calls = [d for d in claimed if d.status == ErpDelivery.Status.PENDING]
            if len(calls) > 1:
                outcomes = list(pool.map(partial(_call_in_thread, endpoint), calls))
            else:
                outcomes = [call(endpoint, d) for d in calls]
            record_all(endpoint, list(zip(calls, outcomes, strict=True)))
            attempts += len(claimed)
    return attempts


LEASE_MARGIN = 60.0  # seconds a claim outlives the call's timeout before another worker may retry


def claim(endpoint: ErpEndpoint) -> ErpDelivery | None:
    """The next chain head, claimed (:func:`claim_heads` of one)."""
    claimed = claim_heads(endpoint, 1)
    return claimed[0] if claimed else None


def claim_heads(endpoint: ErpEndpoint, limit: int) -> list[ErpDelivery]:
    """Take up to ``limit`` chain heads: count the attempt and lease each row
    (``next_attempt_at`` past the call's timeout), committed before the calls. A worker that
    dies during a call leaves the attempt counted; once the lease runs out another worker
    retries, and a delivery whose attempts are spent that way becomes a dead letter instead of
    being called again. A leased delivery stays pending, so later events of its work order
    keep waiting."""
    with transaction.atomic():
        heads = next_heads(endpoint, limit)
        if not heads:
            return []
        lease = timezone.now() + timedelta(seconds=endpoint.call_timeout() + LEASE_MARGIN)
        leased = []
        for delivery in heads:
            if delivery.attempts >= endpoint.max_attempts:
                delivery.status = ErpDelivery.Status.DEAD
                delivery.last_error = _(
                    "No outcome was recorded for attempt %(n)s: the worker stopped during the call."
                ) % {"n": delivery.attempts}
                delivery._change_reason = "dead letter"
                delivery.save()
                transaction.on_commit(partial(notify_dead_letter, delivery.pk))
                continue
            delivery.attempts += 1
            leased.append(delivery.pk)
        # The lease is not a change of the delivery: no history row (the outcome writes one).
        ErpDelivery.objects.filter(pk__in=leased).update(
            attempts=F("attempts") + 1, next_attempt_at=lease
        )
    return heads


def _call_in_thread(endpoint: ErpEndpoint, delivery: ErpDelivery) -> Outcome:
    """:func:`call` from a pool thread, which keeps no database connection afterwards."""
    try:
        return call(endpoint, delivery)
    finally:
        connections.close_all()


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
    """:func:`record_all` of one."""
    record_all(endpoint, [(claimed, outcome)])


def record_all(endpoint: ErpEndpoint, results: list[tuple[ErpDelivery, Outcome]]) -> None:
    """Write what the calls gave, under the rows' locks, in one transaction (the rows in one
    update, their history rows in one insert). A delivery acknowledged is recorded whatever
    happened meanwhile; a failure only if the row is still this claim's (the admin may have
    sent it again, or a later claim taken it over after the lease)."""
    if not results:
        return
    with transaction.atomic():
        rows = {
            d.pk: d
            for d in ErpDelivery.objects.select_for_update(of=("self",))
            .select_related("event")
            .filter(pk__in=[c.pk for c, _o in results], status=ErpDelivery.Status.PENDING)
        }
        now = timezone.now()
        changed, retry_in = [], []
        for claimed, outcome in results:
            delivery = rows.get(claimed.pk)
            if delivery is None or (
                not outcome.delivered and delivery.attempts != claimed.attempts
            ):
                continue
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
                retry_in.append(delay)
            else:
                delivery.status = ErpDelivery.Status.DEAD
                delivery.last_error = outcome.error
                delivery._change_reason = "dead letter"
                transaction.on_commit(partial(notify_dead_letter, delivery.pk))
            delivery._history_date = now
            changed.append(delivery)
        update_rows(ErpDelivery, changed, RECORDED_FIELDS)
        ErpDelivery.history.bulk_history_create(
            changed, update=True, custom_historical_attrs=history_stamps()
        )
        if retry_in:
            transaction.on_commit(partial(_kick, [endpoint.pk], countdown=min(retry_in)))


RECORDED_FIELDS = [
    "status",
    "last_status",
    "response_body",
    "acknowledged_at",
    "last_error",
    "next_attempt_at",
]


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
