"""Projected completion: recomputed on progress, announced to the ERP when it moves."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from integrations.erp.models import ErpDelivery
from mes import projection, services
from mes.models import OutboxEvent, WorkingCalendar
from mes.services import reproject_work_order
from tests.factories import make_endpoint, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

T0 = datetime.datetime(2026, 12, 7, 8, 0, tzinfo=datetime.UTC)  # a Monday


def moved_events():
    return list(OutboxEvent.objects.filter(type="work_order.projection_moved").order_by("pk"))


def test_remaining_work_counts_setups_not_started_and_quantity_still_to_make(p1, user_in):
    wo = make_work_order(p1, status="released", qty="100")  # 2 ops: setup 10, 0.5 min/unit
    assert projection.remaining_minutes(wo) == Decimal(120)
    first = wo.operations.order_by("sequence").first()
    services.confirm_operation(first, actor=user_in("supervisor", p1), good_qty=40)
    # op 10 started (no setup left) and has 60 to make; op 20 untouched
    assert projection.remaining_minutes(wo) == Decimal(30) + Decimal(60)
    assert projection.project(wo, T0) == T0 + datetime.timedelta(minutes=90)


def test_the_projection_follows_the_site_calendar(p1):
    WorkingCalendar.objects.create(site=p1, shifts={str(d): [["06:00", "14:00"]] for d in range(5)})
    wo = make_work_order(p1, status="released", qty="1000")  # 2 × (10 + 500) = 1020 min
    # Monday 09:00 Warsaw: 5 h today, 8 h Tuesday, the last 4 h Wednesday -> 10:00 local
    end = projection.project(wo, T0)
    assert end == datetime.datetime(2026, 12, 9, 9, 0, tzinfo=datetime.UTC)


def test_a_calendar_change_moves_the_projections_of_the_sites_open_orders(p1, relay):
    wo = make_work_order(p1, status="released", qty="1000")  # 1,020 min of work
    with time_machine.travel(T0, tick=False):
        reproject_work_order(wo)
        wo.refresh_from_db()
        assert wo.projected_end == T0 + datetime.timedelta(minutes=1020)  # around the clock
        calendar = WorkingCalendar(site=p1, shifts={str(d): [["06:00", "14:00"]] for d in range(5)})
        services.save_calendar(calendar, actor=None, reason="one shift")
        relay()
    wo.refresh_from_db()
    assert wo.projected_end == datetime.datetime(2026, 12, 9, 9, 0, tzinfo=datetime.UTC)
    assert [e.payload["erp_number"] for e in moved_events()] == [wo.erp_number]


def test_moves_beyond_the_tolerance_are_announced_and_sent_to_the_erp(p1, relay):
    make_endpoint(
        name="ERP",
        adapter="pull",
        event_types=["work_order.projection_moved"],
    )
    wo = make_work_order(p1, status="released", qty="100")
    assert reproject_work_order(wo, T0) is None  # the first projection: stored, no event
    wo.refresh_from_db()
    assert wo.projected_end == T0 + datetime.timedelta(minutes=120)
    assert reproject_work_order(wo, T0 + datetime.timedelta(hours=3)) is None  # within 4 h
    event = reproject_work_order(wo, T0 + datetime.timedelta(hours=5))  # nothing done for 5 h
    assert event.payload["moved_minutes"] == 300
    assert event.payload["previous_projected_end"] == (T0 + datetime.timedelta(hours=2)).isoformat()
    assert event.payload["projected_end"] == (T0 + datetime.timedelta(hours=7)).isoformat()
    assert event.payload["late"] is False
    wo.refresh_from_db()
    assert wo.projected_end == T0 + datetime.timedelta(hours=7)
    assert wo.history.first().history_change_reason == "projection"
    relay()
    assert ErpDelivery.objects.filter(event=event).exists()


def test_progress_events_reproject_through_the_outbox(p1, user_in, relay):
    p1.projection_tolerance_minutes = 1
    p1.save()
    wo = make_work_order(p1, status="planned", qty="100")
    services.release_work_order(wo, actor=user_in("planner", p1))
    relay()
    wo.refresh_from_db()
    first = wo.projected_end
    assert first is not None and not moved_events()
    op = wo.operations.order_by("sequence").first()
    services.confirm_operation(op, actor=user_in("supervisor", p1), good_qty=100, final=True)
    relay()
    (event,) = moved_events()
    assert event.payload["moved_minutes"] < 0  # 50 minutes of work done at once


def test_orders_not_released_are_not_projected(p1):
    wo = make_work_order(p1, status="planned")
    assert reproject_work_order(wo, T0) is None
    wo.refresh_from_db()
    assert wo.projected_end is None
