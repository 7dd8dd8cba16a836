"""Outbox relay: each event reaches each subscriber once, also when relayed twice or by two
relays at the same time; failures are retried by the sweep without repeating successes."""

import time

import pytest

from mes import services
from mes.models import OutboxDelivery, OutboxEvent
from mes.outbox import subscribers
from mes.tasks import relay_outbox_event, sweep_outbox
from tests.concurrency import together
from tests.factories import make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


@pytest.fixture
def recorder():
    """Two subscribers that record what they receive; removed after the test."""
    seen = {"all": [], "work_orders": []}
    subscribers.register("test.all", lambda e: seen["all"].append(e.event_id))
    subscribers.register(
        "test.wo", lambda e: seen["work_orders"].append(e.event_id), patterns=["work_order.*"]
    )
    yield seen
    subscribers.unregister("test.all")
    subscribers.unregister("test.wo")


def test_event_is_relayed_after_commit_to_matching_subscribers(
    p1, recorder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wo = make_work_order(p1, status="planned")
        services.hold_work_order(
            services.release_work_order(wo, actor=None), actor=None, reason="x"
        )
    created, released, held = OutboxEvent.objects.filter(aggregate_id=str(wo.pk)).order_by("pk")
    # One relay after the commit takes every pending event, in order.
    everything = [created.event_id, released.event_id, held.event_id]
    assert recorder["all"] == everything
    assert recorder["work_orders"] == everything
    held.refresh_from_db()
    assert held.delivered_at is not None and held.attempts == 1


def test_relay_twice_delivers_once(p1, recorder):
    wo = make_work_order(p1, status="planned")
    services.release_work_order(wo, actor=None)  # no commit in this test: nothing relayed yet
    event = OutboxEvent.objects.get(type="work_order.released")
    assert recorder["all"] == []
    assert relay_outbox_event.delay(event.pk).get() is True
    OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)  # force a second pass
    assert relay_outbox_event.delay(event.pk).get() is True
    assert recorder["all"] == [event.event_id]
    assert recorder["work_orders"] == [event.event_id]
    assert set(OutboxDelivery.objects.filter(event=event).values_list("subscriber", flat=True)) >= {
        "test.all",
        "test.wo",
    }


def test_failed_subscriber_is_retried_by_the_sweep_alone(p1, recorder, settings):
    settings.ANDON_OUTBOX_SWEEP_AFTER = __import__("datetime").timedelta(0)
    calls = []

    def flaky(event):
        calls.append(event.event_id)
        if len(calls) == 1:
            raise ConnectionError("ERP down")

    subscribers.register("test.flaky", flaky)
    try:
        wo = make_work_order(p1, status="planned")
        services.release_work_order(wo, actor=None)
        event = OutboxEvent.objects.get(type="work_order.released")
        assert relay_outbox_event.delay(event.pk).get() is False
        event.refresh_from_db()
        assert event.delivered_at is None and "ERP down" in event.last_error
        assert not OutboxDelivery.objects.filter(event=event, subscriber="test.flaky").exists()
        assert sweep_outbox.delay().get() >= 1
        event.refresh_from_db()
        assert event.delivered_at is not None and event.last_error == ""
        assert calls.count(event.event_id) == 2
        assert recorder["all"].count(event.event_id) == 1  # the healthy one was not repeated
    finally:
        subscribers.unregister("test.flaky")


def test_sweep_delivers_events_whose_relay_never_ran(p1, recorder, settings):
    import datetime

    settings.ANDON_OUTBOX_SWEEP_AFTER = datetime.timedelta(seconds=30)
    wo = make_work_order(p1, status="planned")  # events written, on_commit never ran
    pending = OutboxEvent.objects.filter(delivered_at__isnull=True).count()
    assert pending >= 1
    assert sweep_outbox.delay().get() == 0  # too young: the normal relay may still be on its way
    OutboxEvent.objects.update(occurred_at=wo.created_at - datetime.timedelta(minutes=5))
    assert sweep_outbox.delay().get() == pending
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_relays_deliver_once(p1):
    """Two relays of one event race; the row lock and the unique delivery make one effect."""
    calls = []

    def slow(event):
        calls.append(event.event_id)
        time.sleep(0.2)  # widen the window in which the second relay could slip in

    subscribers.register("test.slow", slow)
    try:
        wo = make_work_order(p1, status="planned")
        event = OutboxEvent.objects.get(aggregate_id=str(wo.pk), type="work_order.created")
        OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)
        OutboxDelivery.objects.filter(event=event).delete()
        calls.clear()
        together(lambda: relay_outbox_event.delay(event.pk))
        assert calls == [event.event_id]
        assert OutboxDelivery.objects.filter(event=event, subscriber="test.slow").count() == 1
    finally:
        subscribers.unregister("test.slow")


def test_idempotency_records_are_purged_after_a_day(p1, user_in):
    import datetime

    from django.utils import timezone

    from mes.models import IdempotencyRecord
    from mes.tasks import purge_idempotency_records

    user = user_in("operator", p1)
    old = IdempotencyRecord.objects.create(
        user=user,
        key="old",
        method="POST",
        path="/x",
        request_hash="h",
        status=201,
        response_body="{}",
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=25)
    )
    IdempotencyRecord.objects.create(
        user=user,
        key="new",
        method="POST",
        path="/x",
        request_hash="h",
        status=201,
        response_body="{}",
    )
    assert purge_idempotency_records.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_in_process_sweeps_run_in_embedded_mode(p1, settings):
    """Without Redis the ASGI process runs the sweeps itself (demo mode)."""
    import time

    from andon import inprocess

    settings.ANDON_OUTBOX_SWEEP_AFTER = __import__("datetime").timedelta(0)
    inprocess._started.clear()
    events = []
    subscribers.register("test.inprocess", lambda e: events.append(e.event_id))
    try:
        from unittest import mock

        with mock.patch("mes.outbox._enqueue_relay"):  # as if the relay after commit was lost
            wo = make_work_order(p1, status="planned")
        stop = inprocess.start_periodic_sweeps(interval=0.1)
        assert stop is not None
        assert inprocess.start_periodic_sweeps() is None  # once per process
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and not OutboxEvent.objects.filter(
                aggregate_id=str(wo.pk), delivered_at__isnull=False
            ).exists()
        ):
            time.sleep(0.1)
        stop.set()
        assert OutboxEvent.objects.filter(
            aggregate_id=str(wo.pk), delivered_at__isnull=False
        ).exists()
    finally:
        subscribers.unregister("test.inprocess")
        inprocess._started.clear()
