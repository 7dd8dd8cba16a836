"""Batched relay: one relay task per transaction, many events per claim, a subscriber's chunk in
one transaction with its delivery rows in one statement; order per aggregate when another relay
holds an earlier event; one bad event does not undo or hold back the others."""

import datetime
import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes import outbox, services
from mes.models import OutboxDelivery, OutboxEvent, Site
from mes.outbox import Subscriber, relay_batch
from mes.tasks import relay_outbox
from tests.concurrency import together
from tests.factories import make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


@pytest.fixture
def only(monkeypatch):
    """Relay to the given subscribers alone (the default ones are left out of the count)."""

    def use(*subs: Subscriber):
        monkeypatch.setattr(outbox.subscribers, "for_type", lambda _type: list(subs))

    return use


def _events(site, n: int = 0, *, aggregates=(), start: int = 0) -> list[OutboxEvent]:
    """Pending events (all others marked delivered), of the given aggregates or one each."""
    OutboxEvent.objects.update(delivered_at=timezone.now())  # set-up's own events are out
    return OutboxEvent.objects.bulk_create(
        OutboxEvent(
            type="work_order.released",
            site=site,
            aggregate_type="workorder",
            aggregate_id=key,
            payload={},
        )
        for key in (aggregates or [str(start + i) for i in range(n)])
    )


def _relay_callbacks(callbacks) -> int:
    return sum(1 for func in callbacks if func is outbox._enqueue_relay)


def test_one_relay_task_per_transaction(p1, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            wo = make_work_order(p1, status="planned")
            services.release_work_order(wo, actor=None)
            with transaction.atomic():  # a savepoint that commits: no second task
                services.hold_work_order(wo, actor=None, reason="x")
    assert OutboxEvent.objects.filter(aggregate_id=str(wo.pk)).count() == 3
    assert _relay_callbacks(callbacks) == 1


def test_a_rolled_back_savepoint_does_not_take_the_relay_with_it(
    p1, django_capture_on_commit_callbacks
):
    wo = make_work_order(p1, status="planned")
    connection.run_on_commit.clear()  # as if the set-up had committed and been relayed
    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    services.release_work_order(wo, actor=None)
                    raise RuntimeError("undo")
            except RuntimeError:
                pass
            assert not OutboxEvent.objects.filter(type="work_order.released").exists()
            wo.refresh_from_db()
            services.release_work_order(wo, actor=None)
    assert _relay_callbacks(callbacks) == 1


def test_queries_do_not_grow_with_the_batch(p1, only):
    seen = []
    only(
        Subscriber("test.one", ("*",), lambda e: seen.append(e.pk)),
        Subscriber("test.many", ("*",), lambda es: seen.extend(e.pk for e in es), batch=True),
    )
    counts = []
    for n, start in ((5, 0), (60, 100)):
        _events(p1, n, start=start)
        with CaptureQueriesContext(connection) as queries:
            assert len(relay_batch()) == n
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert OutboxDelivery.objects.filter(subscriber="test.many").count() == 65
    assert len(seen) == 130 and len(set(seen)) == 65


def test_an_event_waits_behind_an_earlier_one_another_relay_holds(p1, only):
    seen = []
    only(Subscriber("test.order", ("*",), lambda e: seen.append(e.pk)))
    first, second, other = _events(p1, aggregates=["7", "7", "8"])
    OutboxEvent.objects.filter(pk=first.pk).update(
        relay_lease_until=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert relay_batch() == [other.pk]  # the second of aggregate 7 waits for the first
    second.refresh_from_db()
    assert second.delivered_at is None and second.relay_lease_until is None
    # The other relay died: once its lease runs out its events are taken again, in order.
    OutboxEvent.objects.filter(pk=first.pk).update(
        relay_lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert relay_batch() == [first.pk, second.pk]
    assert seen == [other.pk, first.pk, second.pk]


def test_a_failing_event_does_not_undo_the_others(p1, only):
    bad = []

    def handler(event):
        Site.objects.create(code=f"E{event.pk}", name="effect", timezone="UTC")
        if event.pk in bad:
            raise ValueError("broken payload")

    only(Subscriber("test.effects", ("*",), handler))
    events = _events(p1, 5)
    bad.append(events[2].pk)
    assert len(relay_batch()) == 5
    effects = set(Site.objects.filter(name="effect").values_list("code", flat=True))
    assert effects == {f"E{e.pk}" for e in events if e.pk not in bad}  # once each, bad undone
    failed = OutboxEvent.objects.get(pk=bad[0])
    assert failed.delivered_at is None and failed.attempts == 1
    assert "broken payload" in failed.last_error
    assert OutboxDelivery.objects.filter(subscriber="test.effects").count() == 4
    assert OutboxEvent.objects.filter(pk__in=[e.pk for e in events], attempts=1).count() == 5


def test_what_a_dead_relay_delivered_is_not_delivered_again(p1, only):
    seen = []
    only(Subscriber("test.resume", ("*",), lambda e: seen.append(e.pk)))
    events = _events(p1, 3)
    # A relay recorded the first event's delivery, then died before stamping the event.
    OutboxDelivery.objects.create(event=events[0], subscriber="test.resume")
    assert len(relay_batch()) == 3
    assert seen == [e.pk for e in events[1:]]
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_relays_share_the_backlog_and_deliver_each_event_once(p1, only):
    seen, lock = [], threading.Lock()

    def slow(events):
        time.sleep(0.05)  # long enough for the other relay to claim while this one works
        with lock:
            seen.extend(e.pk for e in events)

    only(Subscriber("test.shared", ("*",), slow, batch=True, chunk=10))
    events = _events(p1, 300)
    took = together(relay_outbox)
    assert sorted(seen) == [e.pk for e in events]
    assert sum(took) == 300 and all(took)  # both relays took a part of it
    assert OutboxDelivery.objects.filter(subscriber="test.shared").count() == 300
