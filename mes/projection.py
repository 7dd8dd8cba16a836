"""Projected completion of work orders, announced when it moves.

The projection of an open work order (released or in progress) is **now + its remaining work
content**, laid on the site's working calendar (``mes.calendars.calendar_for``: shifts and
closed days; around the clock when the site has none). Remaining work: the setup of every
operation not started yet, plus the run time per unit of the quantity each open operation has
still to make (planned minus good confirmed). It ignores queues in front of the work centers:
a lower bound, stable enough to tell the ERP "this order will not make it before X".

The ``projection`` outbox subscriber (``mes/subscribers.py``) recomputes it through
:func:`mes.services.reproject_work_order` after the events that change it (operation
started or confirmed, order released, resumed or revised). ``WorkOrder.projected_end`` keeps
the projection last announced; when the new one is more than the site's
``projection_tolerance_minutes`` away from it, it is stored (history row) and a
``work_order.projection_moved`` event carries the previous and the new projection, for the ERP
endpoints that subscribe to it. The first projection of an order is stored without an event.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from mes.calendars import calendar_for
from mes.choices import OperationStatus as OP
from mes.models import WorkOrder


def open_operations(queryset):
    """The operations still to run, with the good quantity confirmed on each (``good``)."""
    return (
        queryset.filter(status__in=[OP.QUEUED, OP.IN_PROGRESS])
        .annotate(good=Sum("confirmations__good_qty"))
        .order_by()
    )


def remaining_minutes(wo: WorkOrder) -> Decimal:
    total = Decimal(0)
    operations = getattr(wo, "open_operations", None)  # read for many orders at once
    if operations is None:
        operations = open_operations(wo.operations.all())
    for op in operations:
        left = max(wo.planned_qty - (op.good or 0), Decimal(0))
        total += op.planned_run_minutes_per_unit * left
        if op.status == OP.QUEUED:
            total += op.planned_setup_minutes
    return total


def project(wo: WorkOrder, now: datetime.datetime | None = None) -> datetime.datetime | None:
    now = now or timezone.now()
    return calendar_for(wo.site).add(now, float(remaining_minutes(wo)))
