"""Outbox: write events with the change, relay them after commit to registered subscribers.

Services call :func:`emit_event` inside their transaction. After commit one Celery task per
transaction relays pending events in batches (:func:`relay_batch`): it leases a batch, and hands
each subscriber the events whose types it matches, a chunk per transaction together with the
insert of the chunk's ``OutboxDelivery`` rows, so a subscriber either applied an event and is
recorded as done, or neither; a second relay of the same event finds the row and skips it.
Events of one aggregate reach a subscriber in the order they were written.
Subscribers register in their app's ``subscribers`` module::

    from mes.outbox import subscribers

    @subscribers.register("exceptions.board", patterns=["exception.*"])
    def hint_boards(event): ...
"""

from __future__ import annotations

import fnmatch
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mes import config_cache
from mes.audit.context import current_request_id
from mes.bulk import insert_new_rows
from mes.events import AUDIENCES, catalogue
from mes.models import OutboxDelivery, OutboxEvent
from mes.registry import Registry, callable_summary

log = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class Subscriber:
    """A named handler of the event types its patterns match. ``audience`` (``erp``,
    ``notifications``, ``rules``) limits it to the types the catalogue opens to that
    audience; without one it is the app's own reaction and sees every type it matches."""

    name: str
    patterns: tuple[str, ...]
    handler: Handler
    audience: str = ""
    # A handler of many events at once (``batch=True``) gets the list; ``chunk`` events at
    # most share one transaction (rows a handler changes stay locked until it commits).
    batch: bool = False
    chunk: int = 100

    def handle(self, events: list[OutboxEvent]) -> None:
        if not events:
            return
        if self.batch:
            self.handler(events)
        else:
            for event in events:
                self.handler(event)

    def wants(self, event_type: str) -> bool:
        if not any(fnmatch.fnmatchcase(event_type, p) for p in self.patterns):
            return False
        if not self.audience:
            return True
        entry = catalogue.get(event_type)
        return entry is not None and self.audience in entry.audiences


class SubscriberRegistry(Registry[Subscriber]):
    """Named subscribers: ``@subscribers.register("name", patterns=[...], audience=...)``."""

    def __init__(self) -> None:
        super().__init__("outbox subscribers", "Handlers the outbox relays events to.")
        self._by_type: dict[str, list[Subscriber]] = {}

    def build(
        self, key, value, *, patterns=("*",), audience: str = "", batch=False, chunk=100
    ) -> Subscriber:
        if isinstance(value, Subscriber):
            return value
        if audience and audience not in AUDIENCES:
            raise ValueError(f"subscriber {key}: unknown audience {audience!r}")
        return Subscriber(key, tuple(patterns) or ("*",), value, audience, batch, max(1, chunk))

    def changed(self) -> None:
        self._by_type = {}

    def describe_entry(self, item: Subscriber) -> str:
        audience = f" (audience {item.audience})" if item.audience else ""
        patterns = ", ".join(f"`{p}`" for p in item.patterns)
        return f"{callable_summary(item.handler)}; on {patterns}{audience}"

    def for_type(self, event_type: str) -> list[Subscriber]:
        found = self._by_type.get(event_type)
        if found is None:
            found = [s for s in self.values() if s.wants(event_type)]
            self._by_type[event_type] = found
        return found


subscribers = SubscriberRegistry()


def _event(event_type: str, *, aggregate, site, actor, reason: str, payload) -> OutboxEvent:
    payload = payload or {}
    catalogue.event_type(event_type).check_payload(payload)
    return OutboxEvent(
        type=event_type,
        site=site,
        aggregate_type=aggregate._meta.model_name,
        aggregate_id=str(aggregate.pk),
        payload=payload,
        actor=actor if actor is not None and actor.is_authenticated else None,
        reason=reason or "",
        request_id=current_request_id(),
    )


def emit_event(
    event_type: str,
    *,
    aggregate,
    site=None,
    actor=None,
    reason: str = "",
    payload: dict | None = None,
) -> OutboxEvent:
    """Write one OutboxEvent in the caller's transaction and relay it once that commits.

    The type must be in the event catalogue (:mod:`mes.events`) and the payload must carry
    exactly the fields its entry lists: anything else is a programming error, raised here."""
    event = _event(
        event_type, aggregate=aggregate, site=site, actor=actor, reason=reason, payload=payload
    )
    event.save()
    _schedule_relay()
    return event


def emit_events(events: list[dict]) -> list[OutboxEvent]:
    """:func:`emit_event` for many at once (bulk services): each dict holds its arguments."""
    rows = insert_new_rows(OutboxEvent, [_event(**event) for event in events])
    _schedule_relay()
    return rows


def _schedule_relay() -> None:
    """One relay task per transaction, however many events it wrote: the task relays every
    pending event in batches. A callback already registered will run if this event commits:
    a savepoint rolled back drops its callbacks, and one still open holds this event too."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        func is _enqueue_relay for _sids, func, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_enqueue_relay)


RELAY_QUEUED_KEY = "andon:outbox:relay-queued"
RELAY_QUEUED_SECONDS = 15  # a lost task message delays events this long at most (and the sweep)


def _enqueue_relay(*, force: bool = False) -> None:
    """Queue a relay task unless one is queued and not started yet: that one will take this
    transaction's events too (it clears the mark as it starts, before its first claim). Under
    load, one task per burst instead of one per request."""
    try:
        if force or cache.add(RELAY_QUEUED_KEY, 1, RELAY_QUEUED_SECONDS):
            relay_outbox.delay()
    except Exception:  # broker down: the periodic sweep relays later
        log.exception("could not enqueue the outbox relay")


RELAY_SECONDS = 50.0  # one task relays this long at most, then hands over to a fresh one


@shared_task(name="mes.tasks.relay_outbox", acks_late=True, ignore_result=True)
def relay_outbox() -> int:
    """Relay pending events in batches until none is left to take (any number of workers may
    run it at once: each claims its own batch). Returns how many events it relayed."""
    from time import monotonic

    try:
        cache.delete(RELAY_QUEUED_KEY)  # events committed from now on queue another task
    except Exception:
        log.exception("could not clear the relay mark")
    started, total = monotonic(), 0
    while True:
        taken = len(relay_batch())
        total += taken
        if not taken:
            return total
        if monotonic() - started > RELAY_SECONDS:
            _enqueue_relay(force=True)
            return total


@shared_task(name="mes.tasks.relay_outbox_event", acks_late=True, ignore_result=True)
def relay_outbox_event(event_pk: int) -> bool:
    """Relay one given event (tasks queued before batches, tools and tests)."""
    return relay_event(event_pk)


def relay_event(event_pk: int) -> bool:
    """Relay one event now, whatever its age or attempts. True when fully delivered."""
    relay_batch(pks=[event_pk])
    return OutboxEvent.objects.filter(pk=event_pk, delivered_at__isnull=False).exists() or (
        not OutboxEvent.objects.filter(pk=event_pk).exists()
    )


RELAY_BATCH = 200
RELAY_LEASE = timedelta(minutes=5)  # a claimed batch no other relay takes, unless its relay died


def relay_batch(limit: int = RELAY_BATCH, *, pks=None, older_than=None, after=0) -> list[int]:
    """Claim up to ``limit`` pending events, oldest first, and hand them to each subscriber.

    Without ``pks`` or ``older_than`` it takes events never tried (the sweep retries the
    others). The claim is a lease committed at once (``relay_lease_until``), so no lock is held
    while subscribers work and a relay that dies leaves its batch to the next one after the
    lease. An event waits when an earlier event of its aggregate is in another relay's batch:
    order per aggregate. ``after``: only events past that id. Returns the ids handled (none:
    nothing left to take)."""
    events = _claim(limit, pks, older_than, after)
    if not events:
        return []
    errors: dict[int, list[str]] = {}
    by_subscriber: dict[str, tuple[Subscriber, list[OutboxEvent]]] = {}
    for event in events:
        for sub in subscribers.for_type(event.type):
            by_subscriber.setdefault(sub.name, (sub, []))[1].append(event)
    with config_cache.scope():  # the batch reads the configuration's generation once
        for sub, wanted in by_subscriber.values():
            for start in range(0, len(wanted), sub.chunk):
                _hand_over(sub, wanted[start : start + sub.chunk], errors)
    now = timezone.now()
    done = [e.pk for e in events if e.pk not in errors]
    OutboxEvent.objects.filter(pk__in=done, delivered_at__isnull=True).update(
        delivered_at=now, attempts=F("attempts") + 1, last_error="", relay_lease_until=None
    )
    for pk, failures in errors.items():
        OutboxEvent.objects.filter(pk=pk).update(
            attempts=F("attempts") + 1,
            last_error="\n".join(failures)[:4000],
            relay_lease_until=None,
        )
    return [e.pk for e in events]


def _claim(limit: int, pks, older_than, after: int) -> list[OutboxEvent]:
    now = timezone.now()
    free = Q(relay_lease_until__isnull=True) | Q(relay_lease_until__lt=now)
    pending = OutboxEvent.objects.filter(free, delivered_at__isnull=True, pk__gt=after)
    if pks is not None:
        pending = pending.filter(pk__in=pks)
    elif older_than is not None:
        pending = pending.filter(occurred_at__lte=now - older_than)
    else:
        pending = pending.filter(attempts=0)
    with transaction.atomic():
        events = list(
            pending.select_for_update(skip_locked=True, of=("self",))
            .select_related("site", "actor")
            .order_by("pk")[:limit]
        )
        if not events:
            return []
        mine = {e.pk for e in events}
        # Earlier events of the same aggregates in another relay's batch (leased, not ours).
        busy: dict[tuple[str, str], int] = {}
        for kind, key, pk in (
            OutboxEvent.objects.filter(
                delivered_at__isnull=True,
                relay_lease_until__gte=now,
                pk__lt=events[-1].pk,
                aggregate_id__in={e.aggregate_id for e in events},
            )
            .exclude(pk__in=mine)
            .values_list("aggregate_type", "aggregate_id", "pk")
        ):
            busy[kind, key] = min(pk, busy.get((kind, key), pk))
        events = [
            e for e in events if busy.get((e.aggregate_type, e.aggregate_id), e.pk + 1) > e.pk
        ]
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(
            relay_lease_until=now + RELAY_LEASE
        )
    return events


def _hand_over(sub: Subscriber, events: list[OutboxEvent], errors: dict) -> None:
    """One subscriber, one chunk, one transaction: its delivery rows inserted in one statement
    (the events another relay recorded already are skipped), then the handler for the rest.
    When the handler fails, the chunk is rolled back and each event tried on its own, so one
    bad event does not hold the others back nor repeat their effects."""
    try:
        with transaction.atomic():
            sub.handle(_record_deliveries(sub.name, events))
        return
    except Exception:
        if len(events) == 1:
            log.exception("subscriber %s failed on event %s", sub.name, events[0].event_id)
            errors.setdefault(events[0].pk, []).append(f"{sub.name}: {sys.exc_info()[1]!r}")
            return
    for event in events:
        _hand_over(sub, [event], errors)


def _record_deliveries(subscriber: str, events: list[OutboxEvent]) -> list[OutboxEvent]:
    """Insert this subscriber's delivery rows; returns the events whose row is new (a row a
    concurrent relay is inserting makes this wait for it, then skip the event)."""
    table = OutboxDelivery._meta.db_table
    now = timezone.now()
    rows = ", ".join(["(%s, %s, %s)"] * len(events))
    params = [value for e in events for value in (e.pk, subscriber, now)]
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (event_id, subscriber, delivered_at) VALUES {rows} "  # noqa: S608
            "ON CONFLICT (event_id, subscriber) DO NOTHING RETURNING event_id",
            params,
        )
        new = {row[0] for row in cursor.fetchall()}
    return [e for e in events if e.pk in new]
