"""What happens to a lot after it is made or received: shipped to a customer, scrapped,
returned to its supplier; and a rework operation added to the order that made it.

Each takes only what quality leaves free (``check_free``: 409 ``lot_on_hold``) unless the
caller is the quality disposition itself, which takes held quantity it has just let go of
(``from_held``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.choices import LotStatus
from mes.errors import DomainError, InvalidInput
from mes.models import Lot, Operation, Shipment, ShipmentLine, Site, WorkCenter, WorkOrder
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
    to_decimal,
    work_order_payload,
)
from .operations import check_free, settle_lot_status


def lock_lot(lot: Lot | int) -> Lot:
    pk = lot if isinstance(lot, int) else lot.pk
    return Lot.objects.select_for_update(of=("self",)).select_related("site", "item").get(pk=pk)


def _take(lot: Lot, qty: Decimal, *, from_held: bool) -> list[str]:
    """Take ``qty`` off a locked lot: from its free quantity, or (a disposition) from what
    was held and is being let go. Returns the changed fields."""
    if from_held:
        if qty > lot.held_qty:
            raise DomainError(
                _("Lot %(lot)s holds %(held)s, %(want)s requested.")
                % {"lot": lot.number, "held": lot.held_qty, "want": qty},
                code="insufficient_lot_quantity",
            )
        lot.held_qty -= qty
    else:
        check_free(lot, qty)
    lot.quantity -= qty
    return ["quantity", "held_qty"]


def settle_status(lot: Lot) -> None:
    settle_lot_status(lot, LotStatus.CONSUMED)


def _lot_payload(lot: Lot, qty: Decimal, **extra) -> dict:
    return {
        "lot": lot.number,
        "item": lot.item.code,
        "site": lot.site.code,
        "quantity": str(qty),
        "unit": lot.item.unit,
        **extra,
    }


def scrap_lot(lot: Lot, *, quantity, actor, reason: str, from_held: bool = False) -> Lot:
    """Scrap part or all of a lot (reason required); posts ``lot.scrapped`` to the ERP."""
    return _let_go(
        lot, quantity, actor, reason, from_held, LotStatus.SCRAPPED, event_type="lot.scrapped"
    )


def return_lot(lot: Lot, *, quantity, actor, reason: str, from_held: bool = False) -> Lot:
    """Return part or all of a supplier lot to its supplier (reason required)."""
    return _let_go(
        lot, quantity, actor, reason, from_held, LotStatus.RETURNED, event_type="lot.returned"
    )


def _let_go(lot: Lot, quantity, actor, reason, from_held, emptied: str, *, event_type) -> Lot:
    """Take a quantity off a lot for good: scrapped, or returned to its supplier."""
    authorize(actor, "mes.change_lot", lot.site_id)
    reason = require_reason(reason)
    qty = _positive(quantity)
    with transaction.atomic():
        locked = lock_lot(lot)
        returned = emptied == LotStatus.RETURNED
        if returned and locked.work_order_id is not None:
            raise DomainError(
                _("Lot %(lot)s was made here, not bought: it has no supplier to return to.")
                % {"lot": locked.number},
                code="not_a_supplier_lot",
            )
        fields = _take(locked, qty, from_held=from_held)
        settle_lot_status(locked, emptied)
        save_with_history(locked, actor=actor, reason=reason, fields=[*fields, "status"])
        extra = {"supplier": locked.supplier} if returned else {}
        emit_event(
            event_type,
            aggregate=locked,
            site=locked.site,
            actor=actor,
            reason=reason,
            payload=_lot_payload(locked, qty, remaining=str(locked.quantity), **extra),
        )
    return locked


def _positive(quantity) -> Decimal:
    qty = to_decimal(quantity, "quantity")
    if qty <= 0:
        raise InvalidInput(
            _("The quantity must be more than zero."),
            code="invalid_quantity",
            fields={"quantity": [_("Must be more than zero.")]},
        )
    return qty


@dataclass(frozen=True)
class ShipmentSpec:
    lot: Lot
    quantity: Decimal


def ship_lots(
    *,
    site: Site,
    number: str,
    customer: str,
    lines: Sequence[ShipmentSpec],
    actor,
    shipped_at: datetime | None = None,
    reason: str = "",
) -> Shipment:
    """Record a shipment to a customer: the lots leave (held quantity never does)."""
    authorize(actor, "mes.add_shipment", site)
    number, customer = (number or "").strip(), (customer or "").strip()
    if not number or not customer or not lines:
        raise InvalidInput(
            _("A shipment needs a number, a customer and at least one lot."),
            code="invalid_shipment",
            fields={
                key: [_("This field is required.")]
                for key, value in (("number", number), ("customer", customer), ("lines", lines))
                if not value
            },
        )
    wanted: dict[int, Decimal] = {}
    for line in lines:
        if line.lot.site_id != site.pk:
            raise InvalidInput(
                _("Lot %(lot)s belongs to another site.") % {"lot": line.lot.number},
                code="wrong_site",
                fields={"lines": [_("Lot of another site.")]},
            )
        wanted[line.lot.pk] = wanted.get(line.lot.pk, Decimal(0)) + _positive(line.quantity)
    reason = default_reason(reason, "shipped")
    with transaction.atomic():
        if Shipment.objects.filter(site=site, number=number).exists():
            raise DomainError(
                _("Shipment %(n)s already exists.") % {"n": number}, code="shipment_exists"
            )
        lots = list(
            Lot.objects.select_for_update(of=("self",))
            .select_related("item", "site")
            .filter(pk__in=wanted)
            .order_by("pk")
        )
        shipment = save_with_history(
            Shipment(
                site=site,
                number=number,
                customer=customer,
                shipped_at=shipped_at or timezone.now(),
                shipped_by=actor if actor is not None and actor.is_authenticated else None,
            ),
            actor=actor,
            reason=reason,
        )
        payload_lines = []
        for lot in lots:
            qty = wanted[lot.pk]
            if lot.status not in (LotStatus.AVAILABLE, LotStatus.ON_HOLD):
                raise DomainError(
                    _("Lot %(lot)s is %(status)s.")
                    % {"lot": lot.number, "status": lot.get_status_display()},
                    code="lot_not_available",
                )
            fields = _take(lot, qty, from_held=False)
            settle_lot_status(lot, LotStatus.SHIPPED)
            save_with_history(lot, actor=actor, reason=reason, fields=[*fields, "status"])
            save_with_history(
                ShipmentLine(shipment=shipment, lot=lot, quantity=qty), actor=actor, reason=reason
            )
            payload_lines.append({"lot": lot.number, "item": lot.item.code, "quantity": str(qty)})
        emit_event(
            "shipment.shipped",
            aggregate=shipment,
            site=site,
            actor=actor,
            reason=reason,
            payload={
                "shipment": number,
                "site": site.code,
                "customer": customer,
                "shipped_at": shipment.shipped_at.isoformat(),
                "lines": payload_lines,
            },
        )
    return shipment


def add_rework_operation(
    work_order: WorkOrder,
    *,
    actor,
    reason: str,
    quantity,
    work_center: WorkCenter | None = None,
    description: str = "",
    lot: Lot | None = None,
    from_held: bool = False,
) -> Operation:
    """Add a rework operation to an order (a quality disposition): queued at the end of its
    routing and of its work center's queue; a completed order is back in progress. With
    ``lot`` (one the order made), its ``quantity`` goes back into the order to be reworked
    (and is confirmed again by the new operation)."""
    # Reworking a lot is a change of the lot (quality's); a bare operation, of the order.
    authorize(actor, "mes.change_lot" if lot else "mes.change_workorder", work_order.site_id)
    reason = require_reason(reason)
    qty = _positive(quantity)
    with transaction.atomic():
        wo = lock_work_order(work_order)
        check_work_order_action(wo, WO.IN_PROGRESS, "rework")
        lot_number = None
        if lot is not None:
            locked = lock_lot(lot)
            if locked.work_order_id != wo.pk:
                raise InvalidInput(
                    _("Lot %(lot)s was not made by %(wo)s.")
                    % {"lot": locked.number, "wo": wo.erp_number},
                    code="lot_not_of_order",
                )
            fields = _take(locked, qty, from_held=from_held)
            settle_lot_status(locked, LotStatus.CONSUMED)
            save_with_history(locked, actor=actor, reason=reason, fields=[*fields, "status"])
            lot_number = locked.number
        ops = list(wo.operations.order_by("sequence"))
        if work_center is None:
            if not ops:
                raise InvalidInput(
                    _("Name the work center of the rework."), code="work_center_required"
                )
            work_center = ops[-1].work_center
        if work_center.site_id != wo.site_id:
            raise InvalidInput(
                _("The work center belongs to another site."),
                code="wrong_site",
                fields={"work_center": [_("Work center of another site.")]},
            )
        wc = WorkCenter.objects.select_for_update().get(pk=work_center.pk)
        tail = (
            Operation.objects.filter(work_center=wc, dispatch_rank__isnull=False).aggregate(
                m=Max("dispatch_rank")
            )["m"]
            or 0
        )
        sequence = (ops[-1].sequence if ops else 0) + 10
        op = save_with_history(
            Operation(
                work_order=wo,
                sequence=sequence,
                work_center=wc,
                description=(description or _("Rework of %(q)s") % {"q": qty})[:200],
                status=OP.QUEUED,
                dispatch_rank=tail + 1,
            ),
            actor=actor,
            reason=reason,
        )
        previous = wo.status
        if wo.status == WO.COMPLETED:
            wo.status, wo.completed_at = WO.IN_PROGRESS, None
            save_with_history(
                wo, actor=actor, reason=reason, fields=["status", "completed_at", "updated_at"]
            )
        emit_event(
            "operation.added",
            aggregate=wo,
            site=wo.site,
            actor=actor,
            reason=reason,
            payload=work_order_payload(
                wo,
                previous_status=previous,
                operation_id=op.pk,
                sequence=sequence,
                work_center=wc.code,
                quantity=str(qty),
                description=op.description,
                lot=lot_number,
            ),
        )
    return op
