"""Work order life cycle: create, release, start, hold, resume, complete, close, cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from mes.errors import DomainError, InvalidInput, TransitionNotAllowed
from mes.middleware import current_request_id
from mes.models import (
    Item,
    Operation,
    Site,
    WorkCenter,
    WorkOrder,
    WorkOrderComponent,
)
from mes.outbox import emit_event, emit_events

from .base import (
    OP,
    WO,
    authorize,
    check_work_order_action,
    default_reason,
    lock_work_order,
    require_reason,
    save_with_history,
    to_decimal,
    work_order_payload,
)

# --- work orders ------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationSpec:
    sequence: int
    work_center: WorkCenter
    setup_minutes: Decimal = Decimal(0)
    run_minutes_per_unit: Decimal = Decimal(0)
    description: str = ""


@dataclass(frozen=True)
class ComponentSpec:
    """A material the order needs: ``quantity`` in total for the order's quantity."""

    item: Item
    quantity: Decimal


def _check_routing(site: Site, operations: Sequence[OperationSpec]) -> list[int]:
    if not operations:
        raise InvalidInput(
            _("A work order needs at least one operation."),
            code="missing_operations",
            fields={"operations": [_("At least one operation is required.")]},
        )
    sequences = [spec.sequence for spec in operations]
    if len(set(sequences)) != len(sequences):
        raise InvalidInput(
            _("Operation sequences must be unique."),
            code="duplicate_sequence",
            fields={"operations": [_("Duplicate sequence.")]},
        )
    for spec in operations:
        if spec.work_center.site_id != site.pk:
            raise InvalidInput(
                _("Work center %(wc)s belongs to another site.") % {"wc": spec.work_center.code},
                code="wrong_site",
                fields={"operations": [_("Work center of another site.")]},
            )
    return sequences


def _check_quantity(planned_qty) -> Decimal:
    qty = to_decimal(planned_qty, "planned_qty")
    if qty <= 0:
        raise InvalidInput(
            _("The planned quantity must be positive."),
            code="invalid_quantity",
            fields={"planned_qty": [_("Must be more than zero.")]},
        )
    return qty


def _check_components(components: Sequence[ComponentSpec]) -> list[tuple[Item, Decimal]]:
    items = [spec.item.pk for spec in components]
    if len(set(items)) != len(items):
        raise InvalidInput(
            _("A component item is listed twice."),
            code="duplicate_component",
            fields={"components": [_("Duplicate item.")]},
        )
    return [(spec.item, to_decimal(spec.quantity, "components.quantity")) for spec in components]


def _operation_values(spec: OperationSpec) -> dict:
    return {
        "work_center": spec.work_center,
        "description": spec.description,
        "planned_setup_minutes": to_decimal(spec.setup_minutes, "setup_minutes", places=4),
        "planned_run_minutes_per_unit": to_decimal(
            spec.run_minutes_per_unit, "run_minutes_per_unit", places=4
        ),
    }


def create_work_order(
    *,
    site: Site,
    erp_number: str,
    item: Item,
    planned_qty,
    due_date: date,
    operations: Sequence[OperationSpec],
    actor,
    components: Sequence[ComponentSpec] = (),
    priority: int = 50,
    erp_version: int = 0,
    planned_start: datetime | None = None,
    planned_end: datetime | None = None,
    reason: str = "",
) -> WorkOrder:
    """Create a planned work order with its routing and components."""
    (wo,) = create_work_orders(
        [
            NewWorkOrder(
                site=site,
                erp_number=erp_number,
                item=item,
                planned_qty=planned_qty,
                due_date=due_date,
                operations=operations,
                components=components,
                erp_version=erp_version,
                priority=priority,
                planned_start=planned_start,
                planned_end=planned_end,
                reason=reason,
            )
        ],
        actor=actor,
    )
    return wo


@dataclass(frozen=True)
class NewWorkOrder:
    """One order for :func:`create_work_orders`."""

    site: Site
    erp_number: str
    item: Item
    planned_qty: Decimal
    due_date: date
    operations: Sequence[OperationSpec]
    components: Sequence[ComponentSpec] = ()
    erp_version: int = 0
    priority: int = 50
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    reason: str = ""


def create_work_orders(orders: Sequence[NewWorkOrder], *, actor) -> list[WorkOrder]:
    """Create planned work orders with their routing and components: checks, one history row
    per row and one ``work_order.created`` event per order, in a few bulk statements whatever
    the count (an ERP batch of 1,000 costs about what one order costs, times the rows). All
    or nothing: a caller that answers per order validates first and, if this raises, retries
    one order at a time."""
    for site in {order.site for order in orders}:
        authorize(actor, "mes.add_workorder", site)
    checked = [
        (
            order,
            _check_quantity(order.planned_qty),
            _check_routing(order.site, order.operations),
            _check_components(order.components),
        )
        for order in orders
    ]
    user = actor if actor is not None and actor.is_authenticated else None
    extra = {"request_id": current_request_id()}
    with transaction.atomic():
        keys = {(o.site.pk, o.erp_number) for o in orders}
        candidates = WorkOrder.objects.filter(
            site__in={o.site.pk for o in orders}, erp_number__in={o.erp_number for o in orders}
        ).only("site_id", "erp_number")
        clash = [wo.erp_number for wo in candidates if (wo.site_id, wo.erp_number) in keys]
        if clash or len(keys) != len(orders):
            raise DomainError(
                _("Work order %(number)s already exists.")
                % {"number": clash[0] if clash else _("(twice in the batch)")},
                code="work_order_exists",
            )
        work_orders = []
        for order, qty, _sequences, _materials in checked:
            wo = WorkOrder(
                site=order.site,
                erp_number=order.erp_number,
                item=order.item,
                planned_qty=qty,
                due_date=order.due_date,
                erp_version=order.erp_version,
                priority=order.priority,
                planned_start=order.planned_start,
                planned_end=order.planned_end,
            )
            wo._change_reason = default_reason(order.reason, "created")[:100]
            work_orders.append(wo)
        bulk_create_with_history(
            work_orders, WorkOrder, default_user=user, custom_historical_attrs=extra
        )
        operations, components = [], []
        for wo, (order, _qty, _sequences, materials) in zip(work_orders, checked, strict=True):
            for spec in sorted(order.operations, key=lambda s: s.sequence):
                op = Operation(work_order=wo, sequence=spec.sequence, **_operation_values(spec))
                op._change_reason = wo._change_reason
                operations.append(op)
            for material, quantity in materials:
                component = WorkOrderComponent(work_order=wo, item=material, quantity=quantity)
                component._change_reason = wo._change_reason
                components.append(component)
        bulk_create_with_history(
            operations, Operation, default_user=user, custom_historical_attrs=extra
        )
        bulk_create_with_history(
            components, WorkOrderComponent, default_user=user, custom_historical_attrs=extra
        )
        emit_events(
            [
                {
                    "event_type": "work_order.created",
                    "aggregate": wo,
                    "site": wo.site,
                    "actor": actor,
                    "reason": wo._change_reason,
                    "payload": work_order_payload(
                        wo,
                        planned_qty=str(qty),
                        due_date=wo.due_date.isoformat(),
                        operations=sequences,
                    ),
                }
                for wo, (_order, qty, sequences, _materials) in zip(
                    work_orders, checked, strict=True
                )
            ]
        )
    return work_orders


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
