"""Projected completion of work orders, announced when it moves.

The projection of an open work order (released or in progress) is **now + its remaining work
content**, laid on the site's working calendar (``mes.calendars.calendar_for``: shifts and
closed days; around the clock when the site has none). Remaining work: the setup of every
operation not started yet, plus the run time per unit of the quantity each open operation has
still to make (planned minus good confirmed). It ignores queues in front of the work centers:
a lower bound, stable enough to tell the ERP "this order will not make it before X".

The ``projection`` outbox subscriber recomputes it after the events that change it (operation
started or confirmed, order released, resumed or revised). ``WorkOrder.projected_end`` keeps
the projection last announced; when the new one is more than the site's
``projection_tolerance_minutes`` away from it, it is stored (history row) and a
``work_order.projection_moved`` event carries the previous and the new projection, for the ERP
endpoints that subscribe to it. The first projection of an order is stored without an event.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from mes.calendars import calendar_for
from mes.choices import OperationStatus as OP
from mes.choices import WorkOrderStatus as WO
from mes.models import OutboxEvent, WorkOrder
from mes.outbox import emit_event
from mes.services.base import save_with_history, work_order_payload

SUBSCRIBER = "projection"
TRIGGERS = (
    "operation.started",
    "operation.confirmed",
    "work_order.released",
    "work_order.resumed",
    "work_order.revised",
)


def remaining_minutes(wo: WorkOrder) -> Decimal:
    total = Decimal(0)
    operations = (
        wo.operations.filter(status__in=[OP.QUEUED, OP.IN_PROGRESS])
        .annotate(good=Sum("confirmations__good_qty"))
        .order_by()
    )
    for op in operations:
        left = max(wo.planned_qty - (op.good or 0), Decimal(0))
        total += op.planned_run_minutes_per_unit * left
        if op.status == OP.QUEUED:
            total += op.planned_setup_minutes
    return total


def project(wo: WorkOrder, now: datetime.datetime | None = None) -> datetime.datetime | None:
    now = now or timezone.now()
    return calendar_for(wo.site).add(now, float(remaining_minutes(wo)))


def reproject(wo: WorkOrder, now: datetime.datetime | None = None) -> OutboxEvent | None:
    """Recompute an open order's projection; store and announce it if it moved beyond the
    site's tolerance (store silently the first time). Returns the event, if any."""
    with transaction.atomic():
        wo = WorkOrder.objects.select_for_update().select_related("site").get(pk=wo.pk)
        if wo.status not in (WO.RELEASED, WO.IN_PROGRESS):
            return None
        new = project(wo, now)
        if new is None:
            return None
        new = new.replace(microsecond=0)
        previous = wo.projected_end
        tolerance = datetime.timedelta(minutes=wo.site.projection_tolerance_minutes)
        if previous is not None and abs(new - previous) <= tolerance:
            return None
        wo.projected_end = new
        save_with_history(wo, actor=None, reason="projection", fields=["projected_end"])
        if previous is None:
            return None
        moved = round((new - previous).total_seconds() / 60)
        return emit_event(
            "work_order.projection_moved",
            aggregate=wo,
            site=wo.site,
            actor=None,
            reason=f"projected completion moved {moved:+d} min",
            payload=work_order_payload(
                wo,
                previous_projected_end=previous.isoformat(),
                projected_end=new.isoformat(),
                moved_minutes=moved,
                due_date=wo.due_date.isoformat(),
                late=timezone.localdate(new, wo.site.tzinfo) > wo.due_date,
            ),
        )


def on_progress(event: OutboxEvent) -> None:
    work_order_id = event.payload.get("work_order_id") if isinstance(event.payload, dict) else None
    if work_order_id is None:
        return
    wo = WorkOrder.objects.filter(pk=work_order_id).first()
    if wo is not None:
        reproject(wo)
