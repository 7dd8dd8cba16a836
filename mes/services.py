"""Every state change of the production core.

Each service is atomic, locks the rows it changes, checks the caller's permission and site, checks
the allowed-transition table in :mod:`mes.choices`, saves each changed row once (one history row
with actor and reason) and writes exactly one OutboxEvent in the same transaction. ``actor=None``
means the system itself (a task, a migration); it skips the permission check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.access import can_access_site
from mes.choices import (
    OPERATION_TRANSITIONS,
    WORK_ORDER_ACTIONS,
    WORK_ORDER_ACTIVE,
    WORK_ORDER_TRANSITIONS,
    LotStatus,
    OperationStatus,
    WorkOrderStatus,
)
from mes.errors import DomainError, InvalidInput, NotPermitted, TransitionNotAllowed
from mes.models import (
    Confirmation,
    Item,
    Lot,
    LotConsumption,
    Machine,
    Operation,
    Site,
    WorkCenter,
    WorkOrder,
)
from mes.outbox import emit_event

WO = WorkOrderStatus
OP = OperationStatus


# --- helpers ----------------------------------------------------------------------------


def authorize(actor, perm: str, site: Site | int | None) -> None:
    """Refuse unless ``actor`` holds ``perm`` and may access ``site`` (None actor = system)."""
    if actor is None:
        return
    if not actor.is_authenticated or not actor.is_active or not actor.has_perm(perm):
        raise NotPermitted(_("You are not allowed to do this."))
    if site is not None and not can_access_site(actor, site):
        raise NotPermitted(_("You have no access to this site."), code="wrong_site")


def save_with_history(obj: Model, *, actor, reason: str, fields: Iterable[str] | None = None):
    """Save ``obj`` once, so simple-history records one row carrying actor and reason."""
    obj._history_user = actor if actor is not None and actor.is_authenticated else None
    obj._change_reason = reason[:100] if reason else ""
    obj.save(update_fields=list(fields) if fields is not None else None)
    return obj


def _reason(reason: str | None, default: str) -> str:
    return (reason or "").strip() or default


def _require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("A reason is required."),
            code="reason_required",
            fields={"reason": [_("This field is required.")]},
        )
    return reason


def _check_wo_transition(wo: WorkOrder, to: str, verb: str) -> None:
    if wo.status not in WORK_ORDER_ACTIONS[verb] or to not in WORK_ORDER_TRANSITIONS[wo.status]:
        raise TransitionNotAllowed(
            _("Work order %(number)s cannot go from %(src)s to %(dst)s.")
            % {"number": wo.erp_number, "src": wo.status, "dst": to}
        )


def _check_op_transition(op: Operation, to: str) -> None:
    if to not in OPERATION_TRANSITIONS[op.status]:
        raise TransitionNotAllowed(
            _("Operation %(op)s cannot go from %(src)s to %(dst)s.")
            % {"op": str(op), "src": op.status, "dst": to}
        )


def _lock_work_order(work_order: WorkOrder | int) -> WorkOrder:
    pk = work_order if isinstance(work_order, int) else work_order.pk
    return WorkOrder.objects.select_for_update().select_related("site", "item").get(pk=pk)


def _wo_payload(wo: WorkOrder, **extra) -> dict:
    return {
        "work_order_id": wo.pk,
        "erp_number": wo.erp_number,
        "site": wo.site.code,
        "item": wo.item.code,
        "status": wo.status,
        **extra,
    }


def _decimal(value, field: str, places: int = 3) -> Decimal:
    """A non-negative number with at most ``places`` decimals, normalised to exactly that many."""
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(
            _("%(field)s must be a number.") % {"field": field},
            code="invalid_number",
            fields={field: [_("A number is required.")]},
        ) from None
    if not result.is_finite():
        raise InvalidInput(
            _("%(field)s must be a number.") % {"field": field},
            code="invalid_number",
            fields={field: [_("A finite number is required.")]},
        )
    if result < 0:
        raise InvalidInput(
            _("%(field)s cannot be negative.") % {"field": field},
            code="negative_quantity",
            fields={field: [_("Must be zero or more.")]},
        )
    quantum = Decimal(1).scaleb(-places)
    if result != result.quantize(quantum):
        raise InvalidInput(
            _("%(field)s has more than %(n)s decimals.") % {"field": field, "n": places},
            code="too_many_decimals",
            fields={field: [_("Too many decimals.")]},
        )
    return result.quantize(quantum)


# --- master data ------------------------------------------------------------------------

_MASTER_PERMS = {
    Site: "mes.change_site",
    WorkCenter: "mes.change_workcenter",
    Machine: "mes.change_machine",
    Item: "mes.change_item",
}


def save_master_record(obj: Model, *, actor, reason: str = "") -> Model:
    """Create or update a site, work center, machine or item: validated, with history and event."""
    model = type(obj)
    created = obj.pk is None
    perm = _MASTER_PERMS[model]
    if created:
        perm = perm.replace(".change_", ".add_")
    site = obj if isinstance(obj, Site) and not created else getattr(obj, "site", None)
    authorize(actor, perm, site if not created or not isinstance(obj, Site) else None)
    try:
        obj.full_clean()
    except ValidationError as exc:
        raise InvalidInput(_("Invalid record."), fields=exc.message_dict) from None
    with transaction.atomic():
        if not created:
            model.objects.select_for_update().filter(pk=obj.pk).first()
        save_with_history(
            obj, actor=actor, reason=_reason(reason, "created" if created else "changed")
        )
        emit_event(
            f"{model._meta.model_name}.{'created' if created else 'changed'}",
            aggregate=obj,
            site=site if isinstance(site, Site) else None,
            actor=actor,
            reason=reason,
            payload={"id": obj.pk, "code": getattr(obj, "code", "")},
        )
    return obj


def receive_lot(
    *,
    site: Site,
    number: str,
    item: Item,
    quantity,
    actor,
    supplier: str = "",
    certificate: str = "",
    received_at: datetime | None = None,
    reason: str = "",
) -> Lot:
    """Record a supplier lot arriving at a site."""
    authorize(actor, "mes.add_lot", site)
    qty = _decimal(quantity, "quantity")
    with transaction.atomic():
        if Lot.objects.filter(site=site, number=number).exists():
            raise DomainError(_("Lot %(lot)s already exists.") % {"lot": number}, code="lot_exists")
        lot = Lot(
            site=site,
            number=number,
            item=item,
            quantity=qty,
            supplier=supplier,
            certificate=certificate or "",
            received_at=received_at or timezone.now(),
        )
        save_with_history(lot, actor=actor, reason=_reason(reason, "received"))
        emit_event(
            "lot.received",
            aggregate=lot,
            site=site,
            actor=actor,
            reason=reason,
            payload={"lot": number, "item": item.code, "quantity": str(qty), "site": site.code},
        )
    return lot


# --- work orders ------------------------------------------------------------------------


@dataclass(frozen=True)
class OperationSpec:
    sequence: int
    work_center: WorkCenter
    setup_minutes: Decimal = Decimal(0)
    run_minutes_per_unit: Decimal = Decimal(0)
    description: str = ""


def create_work_order(
    *,
    site: Site,
    erp_number: str,
    item: Item,
    planned_qty,
    due_date: date,
    operations: Sequence[OperationSpec],
    actor,
    priority: int = 50,
    erp_version: int = 0,
    planned_start: datetime | None = None,
    planned_end: datetime | None = None,
    reason: str = "",
) -> WorkOrder:
    """Create a planned work order with its routing."""
    authorize(actor, "mes.add_workorder", site)
    qty = _decimal(planned_qty, "planned_qty")
    if qty <= 0:
        raise InvalidInput(
            _("The planned quantity must be positive."),
            code="invalid_quantity",
            fields={"planned_qty": [_("Must be more than zero.")]},
        )
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
    reason = _reason(reason, "created")
    with transaction.atomic():
        if WorkOrder.objects.filter(site=site, erp_number=erp_number).exists():
            raise DomainError(
                _("Work order %(number)s already exists.") % {"number": erp_number},
                code="work_order_exists",
            )
        wo = WorkOrder(
            site=site,
            erp_number=erp_number,
            item=item,
            planned_qty=qty,
            due_date=due_date,
            priority=priority,
            erp_version=erp_version,
            planned_start=planned_start,
            planned_end=planned_end,
        )
        save_with_history(wo, actor=actor, reason=reason)
        for spec in sorted(operations, key=lambda s: s.sequence):
            op = Operation(
                work_order=wo,
                sequence=spec.sequence,
                work_center=spec.work_center,
                description=spec.description,
                planned_setup_minutes=_decimal(spec.setup_minutes, "setup_minutes", places=4),
                planned_run_minutes_per_unit=_decimal(
                    spec.run_minutes_per_unit, "run_minutes_per_unit", places=4
                ),
            )
            save_with_history(op, actor=actor, reason=reason)
        emit_event(
            "work_order.created",
            aggregate=wo,
            site=site,
            actor=actor,
            reason=reason,
            payload=_wo_payload(
                wo, planned_qty=str(qty), due_date=due_date.isoformat(), operations=sequences
            ),
        )
    return wo


def release_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """Planned -> released: the operations join their work centers' dispatch queues."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    reason = _reason(reason, "released")
    with transaction.atomic():
        wo = _lock_work_order(work_order)
        _check_wo_transition(wo, WO.RELEASED, "release")
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
            payload=_wo_payload(wo),
        )
    return wo


_WO_EVENTS = {
    "start": "work_order.started",
    "hold": "work_order.held",
    "resume": "work_order.resumed",
    "complete": "work_order.completed",
    "close": "work_order.closed",
    "cancel": "work_order.cancelled",
}


def _set_wo_status(
    wo: WorkOrder, to: str, *, verb: str, actor, reason: str, **payload
) -> WorkOrder:
    """Move a locked work order along the table, stamping the matching timestamp."""
    _check_wo_transition(wo, to, verb)
    event = _WO_EVENTS[verb]
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
        event,
        aggregate=wo,
        site=wo.site,
        actor=actor,
        reason=reason,
        payload=_wo_payload(wo, previous_status=previous, **payload),
    )
    return wo


def start_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """Released -> in progress."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = _lock_work_order(work_order)
        return _set_wo_status(
            wo,
            WO.IN_PROGRESS,
            actor=actor,
            reason=_reason(reason, "started"),
            verb="start",
        )


def hold_work_order(work_order: WorkOrder, *, actor, reason: str) -> WorkOrder:
    """Put a released or running order on hold (reason required); resume returns it."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    reason = _require_reason(reason)
    with transaction.atomic():
        wo = _lock_work_order(work_order)
        return _set_wo_status(wo, WO.ON_HOLD, actor=actor, reason=reason, verb="hold")


def resume_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """On hold -> the state it was in before the hold."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = _lock_work_order(work_order)
        if wo.status != WO.ON_HOLD:
            raise TransitionNotAllowed(
                _("Work order %(number)s is not on hold.") % {"number": wo.erp_number}
            )
        target = wo.status_before_hold or WO.RELEASED
        return _set_wo_status(
            wo, target, actor=actor, reason=_reason(reason, "resumed"), verb="resume"
        )


def complete_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """In progress -> completed; every operation must be completed or cancelled first."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = _lock_work_order(work_order)
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
            reason=_reason(reason, "completed"),
            verb="complete",
            **totals,
        )


def close_work_order(work_order: WorkOrder, *, actor, reason: str = "") -> WorkOrder:
    """Completed -> closed (no more changes)."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = _lock_work_order(work_order)
        return _set_wo_status(
            wo, WO.CLOSED, actor=actor, reason=_reason(reason, "closed"), verb="close"
        )


def cancel_work_order(work_order: WorkOrder, *, actor, reason: str) -> WorkOrder:
    """Cancel an order that has not started; its queued operations leave the queues."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    reason = _require_reason(reason)
    with transaction.atomic():
        wo = _lock_work_order(work_order)
        _check_wo_transition(wo, WO.CANCELLED, "cancel")
        for op in wo.operations.select_for_update().filter(status=OP.QUEUED):
            op.status = OP.CANCELLED
            op.dispatch_rank = None
            save_with_history(op, actor=actor, reason=reason, fields=["status", "dispatch_rank"])
        return _set_wo_status(wo, WO.CANCELLED, actor=actor, reason=reason, verb="cancel")


def _confirmed_totals(wo: WorkOrder) -> dict:
    last = wo.operations.order_by("-sequence").first()
    good = scrap = Decimal(0)
    if last is not None:
        for c in last.confirmations.all():
            good += c.good_qty
            scrap += c.scrap_qty
    return {"good_qty": str(good), "scrap_qty": str(scrap)}


# --- operations -------------------------------------------------------------------------


def _lock_operation(operation: Operation | int) -> Operation:
    pk = operation if isinstance(operation, int) else operation.pk
    return Operation.objects.select_for_update().select_related("work_center").get(pk=pk)


def _check_machine(machine: Machine | None, op: Operation) -> None:
    if machine is not None and machine.site_id != op.work_order.site_id:
        raise InvalidInput(
            _("The machine belongs to another site."),
            code="wrong_site",
            fields={"machine": [_("Machine of another site.")]},
        )


def _begin_operation(
    op: Operation, wo: WorkOrder, *, actor, reason: str, machine, started_at
) -> bool:
    """Queued -> in progress on a locked operation; returns whether the order started too."""
    _check_op_transition(op, OP.IN_PROGRESS)
    op.status = OP.IN_PROGRESS
    op.dispatch_rank = None
    op.actual_start = started_at or timezone.now()
    if machine is not None:
        op.machine = machine
    return wo.status == WO.RELEASED


def start_operation(
    operation: Operation, *, actor, machine: Machine | None = None, reason: str = ""
) -> Operation:
    """Queued -> in progress; the work order starts with its first operation."""
    authorize(actor, "mes.change_operation", operation.work_order.site_id)
    reason = _reason(reason, "operation started")
    with transaction.atomic():
        wo = _lock_work_order(operation.work_order_id)
        op = _lock_operation(operation)
        if wo.status not in WORK_ORDER_ACTIVE:
            raise DomainError(
                _("Work order %(number)s is %(status)s.")
                % {"number": wo.erp_number, "status": wo.get_status_display()},
                code="work_order_not_active",
            )
        _check_machine(machine, op)
        starts_order = _begin_operation(
            op, wo, actor=actor, reason=reason, machine=machine, started_at=None
        )
        save_with_history(op, actor=actor, reason=reason)
        if starts_order:
            wo.status = WO.IN_PROGRESS
            wo.started_at = wo.started_at or timezone.now()
            save_with_history(
                wo, actor=actor, reason=reason, fields=["status", "started_at", "updated_at"]
            )
        emit_event(
            "operation.started",
            aggregate=op,
            site=wo.site,
            actor=actor,
            reason=reason,
            payload=_wo_payload(
                wo,
                operation_id=op.pk,
                sequence=op.sequence,
                work_center=op.work_center.code,
                machine=machine.code if machine else None,
            ),
        )
    return op


@dataclass(frozen=True)
class Consumption:
    lot: Lot
    quantity: Decimal


def confirm_operation(
    operation: Operation,
    *,
    actor,
    good_qty,
    scrap_qty=0,
    labor_minutes=0,
    machine_minutes=0,
    machine: Machine | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    final: bool = False,
    consumed: Sequence[Consumption] = (),
    produced_lot: str | None = None,
    note: str = "",
) -> Confirmation:
    """Record what an operation produced and consumed.

    Starts the operation (and the order) if it was queued, decrements consumed lots, creates the
    produced lot, and completes the operation when ``final``. Nothing is written unless all of
    it is valid.
    """
    authorize(actor, "mes.add_confirmation", operation.work_order.site_id)
    good = _decimal(good_qty, "good_qty")
    scrap = _decimal(scrap_qty, "scrap_qty")
    labor = _decimal(labor_minutes, "labor_minutes", places=4)
    machine_min = _decimal(machine_minutes, "machine_minutes", places=4)
    if good == 0 and scrap == 0 and not final:
        raise InvalidInput(
            _("Confirm a good or scrap quantity, or mark the confirmation final."),
            code="empty_confirmation",
            fields={"good_qty": [_("Nothing to confirm.")]},
        )
    if started_at and ended_at and ended_at < started_at:
        raise InvalidInput(
            _("The end is before the start."),
            code="invalid_period",
            fields={"ended_at": [_("Before the start.")]},
        )
    reason = _reason(note, "confirmed")
    with transaction.atomic():
        wo = _lock_work_order(operation.work_order_id)
        op = _lock_operation(operation)
        if wo.status not in WORK_ORDER_ACTIVE:
            raise DomainError(
                _("Work order %(number)s is %(status)s and takes no confirmations.")
                % {"number": wo.erp_number, "status": wo.get_status_display()},
                code="work_order_not_active",
            )
        if op.status not in (OP.QUEUED, OP.IN_PROGRESS):
            raise DomainError(
                _("Operation %(op)s is %(status)s.")
                % {"op": str(op), "status": op.get_status_display()},
                code="operation_not_open",
            )
        _check_machine(machine, op)

        lots = _lock_lots_for_consumption(wo, consumed)
        starts_order = False
        if op.status == OP.QUEUED:
            starts_order = _begin_operation(
                op, wo, actor=actor, reason=reason, machine=machine, started_at=started_at
            )
        elif machine is not None and op.machine_id is None:
            op.machine = machine
        if final:
            _check_op_transition(op, OP.COMPLETED)
            op.status = OP.COMPLETED
            op.actual_end = ended_at or timezone.now()
        save_with_history(op, actor=actor, reason=reason)
        if starts_order:
            wo.status = WO.IN_PROGRESS
            wo.started_at = wo.started_at or op.actual_start
            save_with_history(
                wo, actor=actor, reason=reason, fields=["status", "started_at", "updated_at"]
            )

        confirmation = Confirmation(
            operation=op,
            good_qty=good,
            scrap_qty=scrap,
            labor_minutes=labor,
            machine_minutes=machine_min,
            machine=machine,
            started_at=started_at,
            ended_at=ended_at,
            final=final,
            note=note,
            confirmed_by=actor if actor is not None and actor.is_authenticated else None,
        )
        save_with_history(confirmation, actor=actor, reason=reason)
        consumed_payload = []
        for lot, qty in lots:
            lot.quantity -= qty
            fields = ["quantity"]
            if lot.quantity == 0:
                lot.status = LotStatus.CONSUMED
                fields.append("status")
            save_with_history(lot, actor=actor, reason=reason, fields=fields)
            save_with_history(
                LotConsumption(confirmation=confirmation, lot=lot, quantity=qty),
                actor=actor,
                reason=reason,
            )
            consumed_payload.append(
                {"lot": lot.number, "item": lot.item.code, "quantity": str(qty)}
            )
        produced = None
        if produced_lot:
            if Lot.objects.filter(site=wo.site, number=produced_lot).exists():
                raise DomainError(
                    _("Lot %(lot)s already exists.") % {"lot": produced_lot}, code="lot_exists"
                )
            produced = Lot(
                site=wo.site,
                number=produced_lot,
                item=wo.item,
                quantity=good,
                produced_by=confirmation,
                received_at=ended_at or timezone.now(),
            )
            save_with_history(produced, actor=actor, reason=reason)
        emit_event(
            "operation.confirmed",
            aggregate=confirmation,
            site=wo.site,
            actor=actor,
            reason=reason,
            payload=_wo_payload(
                wo,
                confirmation_id=confirmation.pk,
                operation_id=op.pk,
                sequence=op.sequence,
                operation_status=op.status,
                good_qty=str(good),
                scrap_qty=str(scrap),
                labor_minutes=str(labor),
                machine_minutes=str(machine_min),
                final=final,
                consumed=consumed_payload,
                produced_lot=produced_lot or None,
            ),
        )
    return confirmation


def _lock_lots_for_consumption(
    wo: WorkOrder, consumed: Sequence[Consumption]
) -> list[tuple[Lot, Decimal]]:
    """Lock the consumed lots (in id order) and check site, status and quantity."""
    wanted: dict[int, Decimal] = {}
    for entry in consumed:
        qty = _decimal(entry.quantity, "consumed.quantity")
        if qty <= 0:
            raise InvalidInput(
                _("A consumed quantity must be positive."),
                code="invalid_quantity",
                fields={"consumed": [_("Must be more than zero.")]},
            )
        if entry.lot.site_id != wo.site_id:
            raise InvalidInput(
                _("Lot %(lot)s belongs to another site.") % {"lot": entry.lot.number},
                code="wrong_site",
                fields={"consumed": [_("Lot of another site.")]},
            )
        wanted[entry.lot.pk] = wanted.get(entry.lot.pk, Decimal(0)) + qty
    lots = list(
        Lot.objects.select_for_update().select_related("item").filter(pk__in=wanted).order_by("pk")
    )
    result = []
    for lot in lots:
        qty = wanted[lot.pk]
        if lot.status != LotStatus.AVAILABLE:
            raise DomainError(
                _("Lot %(lot)s is %(status)s.")
                % {"lot": lot.number, "status": lot.get_status_display()},
                code="lot_not_available",
            )
        if qty > lot.quantity:
            raise DomainError(
                _("Lot %(lot)s has %(have)s left, %(want)s requested.")
                % {"lot": lot.number, "have": lot.quantity, "want": qty},
                code="insufficient_lot_quantity",
            )
        result.append((lot, qty))
    return result


def resequence_work_center(
    work_center: WorkCenter, *, actor, operation_ids: Sequence[int], reason: str
) -> list[Operation]:
    """Set the dispatch order of a work center's queued operations (reason required).

    ``operation_ids`` must name exactly the operations now queued at the work center.
    """
    authorize(actor, "mes.resequence_workcenter", work_center.site_id)
    reason = _require_reason(reason)
    with transaction.atomic():
        wc = WorkCenter.objects.select_for_update().select_related("site").get(pk=work_center.pk)
        queue = {
            op.pk: op
            for op in Operation.objects.select_for_update().filter(
                work_center=wc, dispatch_rank__isnull=False
            )
        }
        ids = [int(i) for i in operation_ids]
        if len(set(ids)) != len(ids) or set(ids) != set(queue):
            raise InvalidInput(
                _("The new order must list exactly the %(n)s queued operations of %(wc)s.")
                % {"n": len(queue), "wc": wc.code},
                code="queue_mismatch",
                fields={"operations": [_("Must list every queued operation once.")]},
            )
        previous = [pk for pk, _op in sorted(queue.items(), key=lambda kv: kv[1].dispatch_rank)]
        for rank, pk in enumerate(ids, start=1):
            op = queue[pk]
            if op.dispatch_rank != rank:
                op.dispatch_rank = rank
                save_with_history(op, actor=actor, reason=reason, fields=["dispatch_rank"])
        emit_event(
            "work_center.resequenced",
            aggregate=wc,
            site=wc.site,
            actor=actor,
            reason=reason,
            payload={
                "work_center": wc.code,
                "site": wc.site.code,
                "previous": previous,
                "order": ids,
            },
        )
    return [queue[pk] for pk in ids]
