"""The projected completion of a work order, stored and announced when it moves
(:mod:`mes.projection` computes it)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from mes.choices import WorkOrderStatus as WO
from mes.models import Operation, OutboxEvent, WorkOrder
from mes.outbox import emit_event
from mes.projection import open_operations, project

from .base import save_with_history, work_order_payload


def _locked(ids) -> list[WorkOrder]:
    """The work orders locked for the projection, in key order (as every batch locks), with
    their open operations read in one more query."""
    return list(
        WorkOrder.objects.select_for_update(of=("self",), no_key=True)
        .select_related("site")
        .prefetch_related(
            Prefetch(
                "operations",
                queryset=open_operations(Operation.objects.all()),
                to_attr="open_operations",
            )
        )
        .filter(pk__in=ids)
        .order_by("pk")
    )


def reproject_work_order(wo: WorkOrder, now: datetime.datetime | None = None) -> OutboxEvent | None:
    """Recompute an open order's projection; store and announce it if it moved beyond the
    site's tolerance (store silently the first time). Returns the event, if any."""
    with transaction.atomic():
        locked = _locked([wo.pk])
        if not locked:
            raise WorkOrder.DoesNotExist(wo.pk)
        return reproject_locked(locked[0], now)


def reproject_work_orders(ids, now: datetime.datetime | None = None) -> list[OutboxEvent]:
    """:func:`reproject_work_order` for many orders in one transaction, locked in one
    statement in key order; each order once, however often it is named."""
    with transaction.atomic():
        moved = [reproject_locked(wo, now) for wo in _locked(set(ids))]
    return [event for event in moved if event is not None]


def reproject_locked(wo: WorkOrder, now) -> OutboxEvent | None:
    """One locked order: its projection recomputed, stored and announced if it moved."""
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
