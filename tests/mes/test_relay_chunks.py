"""A chunk of work order events costs the relay the same statements whatever its size: the
notifications read the chunk's work orders and the members of their site once, the projection
locks the chunk's orders in one statement and projects each once."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes import services
from mes.models import Notification, OutboxEvent, WorkOrder
from mes.outbox import relay_batch
from tests.factories import make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


def _held_and_resumed(site, n: int) -> list[WorkOrder]:
    orders = [make_work_order(site, status="released") for _ in range(n)]
    OutboxEvent.objects.update(delivered_at=timezone.now())  # the set-up's events are out
    for wo in orders:
        wo = services.hold_work_order(wo, actor=None, reason="no material")
        services.resume_work_order(wo, actor=None, reason="material here")
    return orders


def _relayed_queries(site, n: int) -> tuple[int, list[WorkOrder]]:
    orders = _held_and_resumed(site, n)
    with CaptureQueriesContext(connection) as ctx:
        relay_batch()
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True, type__startswith="work_")
    return len(ctx.captured_queries), orders


def test_the_relay_of_holds_and_resumes_does_not_grow_with_the_orders(p1, user_in):
    planner, supervisor = user_in("planner", p1), user_in("supervisor", p1)
    few, _ = _relayed_queries(p1, 2)
    many, orders = _relayed_queries(p1, 6)
    # per order only its new projection: the update and its history row
    assert many - few <= 2 * 4, (few, many)
    for user in (planner, supervisor):  # each hold and each resume told to both roles
        kinds = Notification.objects.filter(user=user, related_id__in=[str(o.pk) for o in orders])
        assert sorted(kinds.values_list("kind", flat=True)) == sorted(
            ["hold_placed", "hold_released"] * 6
        )
    titles = set(Notification.objects.filter(user=planner).values_list("title", flat=True))
    assert all(f"On hold: {o.erp_number} ({o.item.code})" in titles for o in orders)
    assert all(o.projected_end for o in WorkOrder.objects.filter(pk__in=[o.pk for o in orders]))


def test_an_order_named_twice_in_a_chunk_is_projected_once(p1):
    wo = make_work_order(p1, status="released")
    OutboxEvent.objects.update(delivered_at=timezone.now())
    for _ in range(2):
        wo = services.hold_work_order(wo, actor=None, reason="x")
        wo = services.resume_work_order(wo, actor=None, reason="y")
    relay_batch()
    projections = wo.history.filter(history_change_reason="projection")
    assert projections.count() == 1
    wo.refresh_from_db()
    assert wo.projected_end is not None


def test_a_missing_order_is_skipped_and_the_others_projected(p1):
    wo = make_work_order(p1, status="released")
    OutboxEvent.objects.update(delivered_at=timezone.now())
    services.hold_work_order(wo, actor=None, reason="x")
    services.resume_work_order(WorkOrder.objects.get(pk=wo.pk), actor=None, reason="y")
    ghost = OutboxEvent.objects.filter(type="work_order.resumed").get()
    ghost.pk, ghost.event_id = None, uuid.uuid4()
    ghost.payload = {**ghost.payload, "work_order_id": 10**9}
    ghost.save()
    relay_batch()
    assert not OutboxEvent.objects.exclude(last_error="").exists()
    wo.refresh_from_db()
    assert wo.projected_end is not None
