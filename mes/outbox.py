"""Outbox: write events with the change, relay them after commit to registered subscribers.

Services call :func:`emit_event` inside their transaction. After commit a Celery task relays the
event to every subscriber whose pattern matches its type. A subscriber runs inside a transaction
together with the insert of its ``OutboxDelivery`` row, so it either applied the event and is
recorded as done, or neither; a second relay of the same event finds the row and skips it.
Subscribers register in their app's ``subscribers`` module::

    from mes.outbox import subscribers

    @subscribers.register("exceptions.board", patterns=["exception.*"])
    def hint_boards(event): ...
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone

from mes.events import AUDIENCES, catalogue
from mes.middleware import current_request_id
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

    def build(self, key, value, *, patterns=("*",), audience: str = "") -> Subscriber:
        if isinstance(value, Subscriber):
            return value
        if audience and audience not in AUDIENCES:
            raise ValueError(f"subscriber {key}: unknown audience {audience!r}")
        return Subscriber(key, tuple(patterns) or ("*",), value, audience)

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
    transaction.on_commit(lambda: _enqueue_relay(event.pk))
    return event


def emit_events(events: list[dict]) -> list[OutboxEvent]:
    """:func:`emit_event` for many at once (bulk services): each dict holds its arguments."""
    rows = OutboxEvent.objects.bulk_create([_event(**event) for event in events])
    pks = [row.pk for row in rows]

    def enqueue():
        for pk in pks:
            _enqueue_relay(pk)

    transaction.on_commit(enqueue)
    return rows


@shared_task(name="mes.tasks.relay_outbox_event", acks_late=True, ignore_result=True)
def relay_outbox_event(event_pk: int) -> bool:
    """Relay one outbox event to its subscribers (idempotent: safe to run any number of times).
    The worker's task; it lives here, beside what enqueues it."""
    return relay_event(event_pk)


def _enqueue_relay(event_pk: int) -> None:
    try:
        relay_outbox_event.delay(event_pk)
    except Exception:  # broker down: the periodic sweep relays it later
        log.exception("could not enqueue relay of outbox event %s", event_pk)


def relay_event(event_pk: int) -> bool:
    """Deliver one event to each matching subscriber at most once. True when fully delivered."""
    event = OutboxEvent.objects.filter(pk=event_pk).first()
    if event is None or event.delivered_at is not None:
        return True
    errors = []
    for sub in subscribers.for_type(event.type):
        try:
            with transaction.atomic():
                # Serialises concurrent relays of the same event.
                OutboxEvent.objects.select_for_update().filter(pk=event_pk).first()
                if OutboxDelivery.objects.filter(event_id=event_pk, subscriber=sub.name).exists():
                    continue
                OutboxDelivery.objects.create(event_id=event_pk, subscriber=sub.name)
                sub.handler(event)
        except IntegrityError:
            continue  # another relay recorded this delivery first
        except Exception as exc:
            log.exception("subscriber %s failed on event %s", sub.name, event.event_id)
            errors.append(f"{sub.name}: {exc!r}")
    now = timezone.now()
    if errors:
        OutboxEvent.objects.filter(pk=event_pk).update(
            attempts=event.attempts + 1, last_error="\n".join(errors)[:4000]
        )
        return False
    OutboxEvent.objects.filter(pk=event_pk, delivered_at__isnull=True).update(
        delivered_at=now, attempts=event.attempts + 1, last_error=""
    )
    return True


def undelivered_ids(older_than, limit: int = 500) -> list[int]:
    """Events still not delivered, oldest first; uses the partial index on undelivered rows."""
    cutoff = timezone.now() - older_than
    return list(
        OutboxEvent.objects.filter(delivered_at__isnull=True, occurred_at__lte=cutoff)
        .order_by("occurred_at")
        .values_list("pk", flat=True)[:limit]
    )
