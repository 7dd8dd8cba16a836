"""Work order life cycle: release, start, hold, resume, complete, close, cancel (new orders:
:mod:`mes.services.create`; ERP revisions: :mod:`mes.services.revisions`)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.errors import DomainError, TransitionNotAllowed
from mes.models import (
    Operation,
    WorkCenter,
    WorkOrder,
)
from mes.outbox import emit_event

from .base import (
    OP,
    WO,
    authorize,
    check_work_order_action,
    default_reason,
    lock_work_order,
    require_reason,
    save_with_history,
    work_order_payload,
)

# --- work orders ------------------------------------------------------------------------


def release_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """Planned -> released: the operations join their work centers' dispatch queues."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    reason = default_reason(reason, "released")
    with transaction.atomic():
        wo = lock_work_order(work_order)
        check_work_order_action(wo, WO.RELEASED, "release")
        ops = list(wo.operations.select_for_update().filter(status=OP.QUEUED).order_by("sequence"))
        wc_ids = sorted({op.work_center_id for op in ops})
        list(WorkCenter.objects.select_for_update().filter(pk__in=wc_ids).order_by("pk"))
        tails = dict(
            Operation.objects.filter(work_center_id__in=wc_ids, dispatch_rank__isnull=False)
            .values("work_center_id")
            .annotate(m=Max("dispatch_rank"))
            .values_list("work_center_id", "m")
        )
        for op in ops:
            tails[op.work_center_id] = tails.get(op.work_center_id, 0) + 1
            op.dispatch_rank = tails[op.work_center_id]
            save_with_history(op, actor=actor, reason=reason, fields=["dispatch_rank"])
        wo.status = WO.RELEASED
        wo.released_at = timezone.now()
        save_with_history(
            wo, actor=actor, reason=reason, fields=["status", "released_at", "updated_at"]
        )
        emit_event(
            "work_order.released",
            aggregate=wo,
            site=wo.site,
            actor=actor,
            reason=reason,
            payload=work_order_payload(wo),
        )
    return wo


def _set_wo_status(
    wo: WorkOrder, to: str, *, verb: str, event_type: str, actor, reason: str, **payload
) -> WorkOrder:
    """Move a locked work order along the table, stamping the matching timestamp, and emit
    ``event_type`` (each caller names its own, as catalogued in ``mes/events.py``)."""
    check_work_order_action(wo, to, verb)
    previous = wo.status
    fields = ["status", "updated_at"]
    now = timezone.now()
    stamp = {
        WO.IN_PROGRESS: "started_at",
        WO.COMPLETED: "completed_at",
        WO.CLOSED: "closed_at",
    }.get(to)
    if stamp and getattr(wo, stamp) is None:
        setattr(wo, stamp, now)
        fields.append(stamp)
    if to == WO.ON_HOLD:
        wo.status_before_hold = previous
        fields.append("status_before_hold")
    elif previous == WO.ON_HOLD:
        wo.status_before_hold = ""
        fields.append("status_before_hold")
    wo.status = to
    save_with_history(wo, actor=actor, reason=reason, fields=fields)
    emit_event(
        event_type,
        aggregate=wo,
        site=wo.site,
        actor=actor,
        reason=reason,
        payload=work_order_payload(wo, previous_status=previous, **payload),
    )
    return wo


def start_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """Released -> in progress."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = lock_work_order(work_order)
        return _set_wo_status(
            wo,
            WO.IN_PROGRESS,
            actor=actor,
            reason=default_reason(reason, "started"),
            verb="start",
            event_type="work_order.started",
        )


def hold_work_order(work_order: WorkOrder, *, actor, reason: str) -> WorkOrder:
    """Put a released or running order on hold (reason required); resume returns it."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    reason = require_reason(reason)
    with transaction.atomic():
        wo = lock_work_order(work_order)
        return _set_wo_status(
            wo, WO.ON_HOLD, actor=actor, reason=reason, verb="hold", event_type="work_order.held"
        )


def resume_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """On hold -> the state it was in before the hold."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = lock_work_order(work_order)
        if wo.status != WO.ON_HOLD:
            raise TransitionNotAllowed(
                _("Work order %(number)s is not on hold.") % {"number": wo.erp_number}
            )
        target = wo.status_before_hold or WO.RELEASED
        return _set_wo_status(
            wo,
            target,
            actor=actor,
            reason=default_reason(reason, "resumed"),
            verb="resume",
            event_type="work_order.resumed",
        )


def complete_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """In progress -> completed; every operation must be completed or cancelled first."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = lock_work_order(work_order)
        open_ops = list(
            wo.operations.filter(status__in=[OP.QUEUED, OP.IN_PROGRESS]).values_list(
                "sequence", flat=True
            )
        )
        if open_ops and wo.status == WO.IN_PROGRESS:
            raise DomainError(
                _("Operations %(ops)s are not finished.") % {"ops": ", ".join(map(str, open_ops))},
                code="operations_open",
            )
        totals = _confirmed_totals(wo)
        return _set_wo_status(
            wo,
            WO.COMPLETED,
            actor=actor,
            reason=default_reason(reason, "completed"),
            verb="complete",
            event_type="work_order.completed",
            **totals,
        )


def close_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """Completed -> closed (no more changes)."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = lock_work_order(work_order)
        return _set_wo_status(
            wo,
            WO.CLOSED,
            actor=actor,
            reason=default_reason(reason, "closed"),
            verb="close",
            event_type="work_order.closed",
        )


def cancel_work_order(work_order: WorkOrder, *, actor, reason: str) -> WorkOrder:
    """Cancel an order that has not started; its queued operations leave the queues."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    reason = require_reason(reason)
    with transaction.atomic():
        wo = lock_work_order(work_order)
        check_work_order_action(wo, WO.CANCELLED, "cancel")
        for op in wo.operations.select_for_update().filter(status=OP.QUEUED):
            op.status = OP.CANCELLED
            op.dispatch_rank = None
            save_with_history(op, actor=actor, reason=reason, fields=["status", "dispatch_rank"])
        return _set_wo_status(
            wo,
            WO.CANCELLED,
            actor=actor,
            reason=reason,
            verb="cancel",
            event_type="work_order.cancelled",
        )


def _confirmed_totals(wo: WorkOrder) -> dict:
    last = wo.operations.order_by("-sequence").first()
    good = scrap = Decimal(0)
    if last is not None:
        for c in last.confirmations.all():
            good += c.good_qty
            scrap += c.scrap_qty
    return {"good_qty": str(good), "scrap_qty": str(scrap)}
