"""Operations: start, confirm (quantities, minutes, lots) and dispatch resequencing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.choices import (
    WORK_ORDER_ACTIVE,
    LotStatus,
)
from mes.errors import DomainError, InvalidInput
from mes.models import (
    Confirmation,
    Lot,
    LotConsumption,
    Machine,
    Operation,
    WorkCenter,
    WorkOrder,
)
from mes.outbox import emit_event

from .base import (
    OP,
    WO,
    authorize,
    check_operation_transition,
    default_reason,
    lock_work_order,
    require_reason,
    run_new_lot_checks,
    save_with_history,
    to_decimal,
    work_order_payload,
)

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


def _lock_active(operation: Operation, machine: Machine | None) -> tuple[WorkOrder, Operation]:
    """Lock the order, then the operation; refuse unless the order takes floor work."""
    wo = lock_work_order(operation.work_order_id)
    op = _lock_operation(operation)
    op.work_order = wo
    if wo.status not in WORK_ORDER_ACTIVE:
        raise DomainError(
            _("Work order %(number)s is %(status)s: its operations cannot start or be confirmed.")
            % {"number": wo.erp_number, "status": wo.get_status_display()},
            code="work_order_not_active",
        )
    _check_machine(machine, op)
    return wo, op


def _begin_operation(
    op: Operation, wo: WorkOrder, *, actor, reason: str, machine, started_at
) -> None:
    """Queued -> in progress on a locked operation (the caller saves it); a released order
    starts with its first operation (saved here)."""
    check_operation_transition(op, OP.IN_PROGRESS)
    op.status = OP.IN_PROGRESS
    op.dispatch_rank = None
    op.actual_start = started_at or timezone.now()
    if machine is not None:
        op.machine = machine
    if wo.status == WO.RELEASED:
        wo.status = WO.IN_PROGRESS
        wo.started_at = wo.started_at or op.actual_start
        save_with_history(
            wo, actor=actor, reason=reason, fields=["status", "started_at", "updated_at"]
        )


def start_operation(
    operation: Operation, *, actor, machine: Machine | None = None, reason: str = ""
) -> Operation:
    """Queued -> in progress; the work order starts with its first operation."""
    authorize(actor, "mes.change_operation", operation.work_order.site_id)
    reason = default_reason(reason, "operation started")
    with transaction.atomic():
        wo, op = _lock_active(operation, machine)
        _begin_operation(op, wo, actor=actor, reason=reason, machine=machine, started_at=None)
        save_with_history(op, actor=actor, reason=reason)
        emit_event(
            "operation.started",
            aggregate=op,
            site=wo.site,
            actor=actor,
            reason=reason,
            payload=work_order_payload(
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
    good = to_decimal(good_qty, "good_qty")
    scrap = to_decimal(scrap_qty, "scrap_qty")
    labor = to_decimal(labor_minutes, "labor_minutes", places=4)
    machine_min = to_decimal(machine_minutes, "machine_minutes", places=4)
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
    reason = default_reason(note, "confirmed")
    with transaction.atomic():
        wo, op = _lock_active(operation, machine)
        if op.status not in (OP.QUEUED, OP.IN_PROGRESS):
            raise DomainError(
                _("Operation %(op)s is %(status)s.")
                % {"op": str(op), "status": op.get_status_display()},
                code="operation_not_open",
            )
        check_not_held(wo, op)
        lots = _lock_lots_for_consumption(wo, consumed)
        if op.status == OP.QUEUED:
            _begin_operation(
                op, wo, actor=actor, reason=reason, machine=machine, started_at=started_at
            )
        elif machine is not None and op.machine_id is None:
            op.machine = machine
        if final:
            check_operation_transition(op, OP.COMPLETED)
            op.status = OP.COMPLETED
            op.actual_end = ended_at or timezone.now()
        save_with_history(op, actor=actor, reason=reason)

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
        consumed_payload, consumptions = [], []
        for lot, qty in lots:
            lot.quantity -= qty
            settle_lot_status(lot, LotStatus.CONSUMED)
            save_with_history(lot, actor=actor, reason=reason, fields=["quantity", "status"])
            consumptions.append(
                save_with_history(
                    LotConsumption(confirmation=confirmation, lot=lot, work_order=wo, quantity=qty),
                    actor=actor,
                    reason=reason,
                )
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
                quantity=good + _unlotted_good(op, confirmation),
                produced_by=confirmation,
                work_order=wo,
                received_at=ended_at or timezone.now(),
            )
            save_with_history(produced, actor=actor, reason=reason)

        def emit(event_type: str, aggregate, **payload) -> None:
            emit_event(
                event_type,
                aggregate=aggregate,
                site=wo.site,
                actor=actor,
                reason=reason,
                payload=work_order_payload(
                    wo, confirmation_id=confirmation.pk, sequence=op.sequence, **payload
                ),
            )

        emit(
            "operation.confirmed",
            confirmation,
            operation_id=op.pk,
            operation_status=op.status,
            good_qty=str(good),
            scrap_qty=str(scrap),
            labor_minutes=str(labor),
            machine_minutes=str(machine_min),
            final=final,
            consumed=consumed_payload,
            produced_lot=produced_lot or None,
        )
        # The same facts as events of their own, for ERPs that book consumption and receipts
        # of produced lots as separate documents.
        if consumed_payload:
            emit("material.consumed", confirmation, lots=consumed_payload)
        if produced is not None:
            emit(
                "lot.produced",
                produced,
                lot=produced.number,
                quantity=str(produced.quantity),
                consumed=consumed_payload,
            )
            run_new_lot_checks(produced, actor=actor)  # an item on hold holds it as it is made
    # All it has, for the answer to need no second read.
    confirmation.known = {
        "consumptions": consumptions,
        "produced_lots": [produced] if produced is not None else [],
    }
    return confirmation


def _lock_lots_for_consumption(
    wo: WorkOrder, consumed: Sequence[Consumption]
) -> list[tuple[Lot, Decimal]]:
    """Lock the consumed lots (in id order) and check site, status and quantity."""
    wanted: dict[int, Decimal] = {}
    for entry in consumed:
        qty = to_decimal(entry.quantity, "consumed.quantity")
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
        Lot.objects.select_for_update(of=("self",))
        .select_related("item")
        .filter(pk__in=wanted)
        .order_by("pk")
    )
    result = []
    for lot in lots:
        qty = wanted[lot.pk]
        check_free(lot, qty)
        if lot.status != LotStatus.AVAILABLE:
            raise DomainError(
                _("Lot %(lot)s is %(status)s.")
                % {"lot": lot.number, "status": lot.get_status_display()},
                code="lot_not_available",
            )
        result.append((lot, qty))
    return result


def check_free(lot: Lot, qty: Decimal) -> None:
    """Refuse to take ``qty`` of a locked lot (consume, ship) beyond what quality leaves free:
    409 ``lot_on_hold`` when a hold is in the way, ``insufficient_lot_quantity`` otherwise."""
    if qty <= lot.free_qty:
        return
    if lot.held_qty > 0 and qty <= lot.quantity:
        raise DomainError(
            _("Lot %(lot)s is on quality hold: %(held)s of %(have)s held, %(want)s requested.")
            % {"lot": lot.number, "held": lot.held_qty, "have": lot.quantity, "want": qty},
            code="lot_on_hold",
        )
    raise DomainError(
        _("Lot %(lot)s has %(have)s left, %(want)s requested.")
        % {"lot": lot.number, "have": lot.free_qty, "want": qty},
        code="insufficient_lot_quantity",
    )


def _unlotted_good(op: Operation, confirmation: Confirmation) -> Decimal:
    """Good quantity of the operation's earlier confirmations since the last one that made a
    lot: a split confirmation names its lot on the last record, and the lot holds it all."""
    total = Decimal(0)
    earlier = (
        Confirmation.objects.filter(operation=op)
        .exclude(pk=confirmation.pk)
        .annotate(made=Exists(Lot.objects.filter(produced_by=OuterRef("pk"))))
        .order_by("-pk")
        .values_list("good_qty", "made")
    )
    for good, made in earlier:
        if made:
            break
        total += good
    return total


def settle_lot_status(lot: Lot, emptied: str) -> None:
    """A lot's status follows its quantities: ``emptied`` when nothing is left, on hold while
    everything left is held, available otherwise."""
    if lot.quantity == 0:
        lot.status = emptied
    elif lot.held_qty >= lot.quantity:
        lot.status = LotStatus.ON_HOLD
    elif lot.status == LotStatus.ON_HOLD:
        lot.status = LotStatus.AVAILABLE


def check_not_held(wo: WorkOrder, op: Operation) -> None:
    """Refuse a confirmation of a locked order or operation under a quality hold (409
    ``lot_on_hold``: what it would make is held)."""
    if wo.quality_holds or op.quality_holds:
        raise DomainError(
            _("%(what)s is on quality hold: it takes no confirmation until quality releases it.")
            % {"what": wo.erp_number if wo.quality_holds else str(op)},
            code="lot_on_hold",
        )


def resequence_work_center(
    work_center: WorkCenter, *, actor, operation_ids: Sequence[int], reason: str
) -> list[Operation]:
    """Set the dispatch order of a work center's queued operations (reason required).

    ``operation_ids`` must name exactly the operations now queued at the work center.
    """
    authorize(actor, "mes.resequence_workcenter", work_center.site_id)
    reason = require_reason(reason)
    with transaction.atomic():
        wc = (
            WorkCenter.objects.select_for_update(of=("self",))
            .select_related("site")
            .get(pk=work_center.pk)
        )
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
