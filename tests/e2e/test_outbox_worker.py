"""The outbox relay through a real Celery worker process on Redis and PostgreSQL."""

import pytest
import redis

from mes import services
from mes.models import OutboxEvent
from tests.e2e.conftest import wait_for
from tests.factories import make_work_order

pytestmark = pytest.mark.e2e


def probe_calls(redis_url, worker) -> list[str]:
    """Event ids the worker's probe subscriber handled, sorted (two children run in parallel)."""
    return sorted(
        v.decode() for v in redis.Redis.from_url(redis_url).lrange(worker.probe_key, 0, -1)
    )


def undelivered(pks) -> bool:
    return OutboxEvent.objects.filter(pk__in=pks, delivered_at__isnull=True).exists()


def test_worker_relays_each_event_once_also_when_sent_twice(
    celery_worker_process, redis_url, p1, monkeypatch
):
    # The web process hands the relay to the broker after commit, as in production.
    monkeypatch.setattr(
        "mes.outbox._enqueue_relay",
        lambda: celery_worker_process.send("mes.tasks.relay_outbox"),
    )
    wo = make_work_order(p1, status="planned")
    wo = services.release_work_order(wo, actor=None, reason="e2e")
    events = list(OutboxEvent.objects.filter(aggregate_id=str(wo.pk)).order_by("pk"))
    assert [e.type for e in events] == ["work_order.created", "work_order.released"]
    pks = [e.pk for e in events]
    wait_for(lambda: not undelivered(pks), message="the worker to deliver both events")
    assert probe_calls(redis_url, celery_worker_process) == sorted(str(e.event_id) for e in events)

    # A broker redelivery (or a second relay) of the same events must not repeat the effect.
    OutboxEvent.objects.filter(pk__in=pks).update(delivered_at=None)
    for pk in pks:
        for _ in range(2):
            celery_worker_process.send("mes.tasks.relay_outbox_event", pk)
    wait_for(lambda: not undelivered(pks), message="the worker to process the duplicates")
    assert probe_calls(redis_url, celery_worker_process) == sorted(str(e.event_id) for e in events)


def test_worker_sweep_picks_up_what_was_left_behind(
    celery_worker_process, redis_url, p1, monkeypatch
):
    # The broker was down when the change committed: nothing was enqueued.
    monkeypatch.setattr("mes.outbox._enqueue_relay", lambda: None)
    wo = make_work_order(p1, status="planned")
    pending = OutboxEvent.objects.get(aggregate_id=str(wo.pk))
    assert pending.delivered_at is None
    celery_worker_process.send("mes.tasks.sweep_outbox")
    wait_for(lambda: not undelivered([pending.pk]), message="the sweep to deliver the event")
    assert probe_calls(redis_url, celery_worker_process) == [str(pending.event_id)]
