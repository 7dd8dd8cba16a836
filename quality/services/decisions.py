"""Decisions on held quantity: release it, or disposition it (use as is, rework, scrap,
return to vendor, sort). Only who holds ``quality.release_qualityhold`` decides, always with a
reason; under a site's two-person rule, never the one who placed the hold.

Locks: the hold, then its order (a hold on an order or operation), then each lot; the core
locks order then lots, so nobody waits in a circle.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes import services as mes
from mes.errors import DomainError, InvalidInput
from mes.models import Lot, WorkCenter
from mes.outbox import emit_event
from mes.services.base import lock_work_order, require_reason, save_with_history, to_decimal

from ..models import DispositionReason, HeldLot, HoldDecision, QualityHold
from .holds import _check_decider, _lock_operation, hold_payload, lock_hold

Kind = HoldDecision.Kind
Status = QualityHold.Status
Scope = QualityHold.Target


def decide(
    hold: QualityHold,
    *,
    kind: str,
    reason: str,
    actor,
    lot: Lot | None = None,
    quantity=None,
    released_qty=None,
    reason_code: DispositionReason | None = None,
    work_center: WorkCenter | None = None,
    expected_version: int | None = None,
) -> HoldDecision:
    """Decide on ``quantity`` (default: all still held) of ``lot`` in the hold, or, with no
    lot and ``kind`` release, release everything the hold still holds. A hold with nothing
    left held is closed: released, or dispositioned if any quantity was not simply released.
    """
    _check_decider(hold, actor, "quality.release_qualityhold")
    reason = require_reason(reason)
    if kind not in Kind.values:
        raise InvalidInput(
            _("Unknown decision."), code="invalid_decision", fields={"kind": [str(kind)]}
        )
    if lot is None and kind != Kind.RELEASE:
        raise InvalidInput(
            _("Name the lot to disposition."), code="lot_required", fields={"lot": [_("Required.")]}
        )
    with transaction.atomic():
        hold = lock_hold(hold, expected_version)
        if not hold.is_open:
            raise DomainError(
                _("%(hold)s is %(status)s.") % {"hold": hold, "status": hold.get_status_display()},
                code="hold_closed",
            )
        if hold.work_order_id:  # the order before its lots, as the core locks them
            lock_work_order(hold.work_order)
        rows = list(hold.lots.select_for_update().select_related("lot").order_by("lot_id"))
        if lot is not None:
            rows = [row for row in rows if row.lot_id == lot.pk]
            if not rows or rows[0].open_qty == 0:
                raise DomainError(
                    _("%(hold)s holds nothing of lot %(lot)s.") % {"hold": hold, "lot": lot},
                    code="lot_not_held",
                )
        plan = _quantities(rows, lot, quantity)
        decision = HoldDecision(
            hold=hold,
            lot=lot,
            kind=kind,
            reason=reason[:500],
            reason_code=reason_code,
            decided_by=actor if actor is not None and actor.is_authenticated else None,
        )
        released, scrapped = _apply(decision, plan, released_qty, work_center, actor, reason)
        decision.quantity = sum((q for _row, q in plan), Decimal(0))
        decision.released_qty, decision.scrapped_qty = released, scrapped
        save_with_history(decision, actor=actor, reason=reason)
        closed = _close_if_done(hold, actor=actor, reason=reason)
        hold.version += 1
        save_with_history(hold, actor=actor, reason=reason)
        lots = [
            {"lot": row.lot.number, "item": row.lot.item.code, "quantity": str(q)}
            for row, q in plan
        ]
        if kind == Kind.RELEASE:
            emit_event(
                "quality_hold.released",
                aggregate=hold,
                site=hold.site,
                actor=actor,
                reason=reason,
                payload=hold_payload(hold, lots=lots, closed=closed),
            )
        else:
            emit_event(
                "lot.dispositioned",
                aggregate=hold,
                site=hold.site,
                actor=actor,
                reason=reason,
                payload=hold_payload(
                    hold,
                    lot=lot.number,
                    disposition=kind,
                    quantity=str(decision.quantity),
                    released_qty=str(released),
                    scrapped_qty=str(scrapped),
                    reason_code=reason_code.code if reason_code else None,
                    rework_operation=(
                        decision.rework_operation.sequence if decision.rework_operation else None
                    ),
                    closed=closed,
                ),
            )
    return decision


def _quantities(rows: list[HeldLot], lot, quantity) -> list[tuple[HeldLot, Decimal]]:
    if lot is None:
        return [(row, row.open_qty) for row in rows if row.open_qty > 0]
    row = rows[0]
    qty = row.open_qty if quantity in (None, "") else to_decimal(quantity, "quantity")
    if qty <= 0 or qty > row.open_qty:
        raise InvalidInput(
            _("Between 0 and the %(open)s still held of %(lot)s.")
            % {"open": row.open_qty, "lot": row.lot.number},
            code="invalid_quantity",
            fields={"quantity": [_("More than is held.") if qty > 0 else _("Must be positive.")]},
        )
    return [(row, qty)]


def _apply(decision, plan, released_qty, work_center, actor, reason):
    """Carry out the decision on each (held lot, quantity); returns (released, scrapped)."""
    kind = decision.kind
    released = scrapped = Decimal(0)
    for row, qty in plan:
        lot = row.lot
        if kind in HoldDecision.FREES:
            _free(lot, qty, actor=actor, reason=reason)
            released += qty
        elif kind == Kind.SCRAP:
            mes.scrap_lot(lot, quantity=qty, actor=actor, reason=reason, from_held=True)
            scrapped += qty
        elif kind == Kind.RETURN:
            mes.return_lot(lot, quantity=qty, actor=actor, reason=reason, from_held=True)
        elif kind == Kind.REWORK:
            if lot.work_order_id is None:
                raise DomainError(
                    _("Lot %(lot)s was bought, not made here: return or scrap it.")
                    % {"lot": lot.number},
                    code="not_made_here",
                )
            decision.rework_work_center = work_center
            decision.rework_operation = mes.add_rework_operation(
                lot.work_order,
                actor=actor,
                reason=reason,
                quantity=qty,
                work_center=work_center,
                lot=lot,
                from_held=True,
            )
        else:  # sort: the good part is released, the rest scrapped
            good = to_decimal(released_qty if released_qty is not None else -1, "released_qty")
            if good > qty:
                raise InvalidInput(
                    _("Sorting %(q)s: at most %(q)s can be released.") % {"q": qty},
                    code="invalid_quantity",
                    fields={"released_qty": [_("More than sorted.")]},
                )
            if good:
                _free(lot, good, actor=actor, reason=reason)
            if qty - good:
                mes.scrap_lot(lot, quantity=qty - good, actor=actor, reason=reason, from_held=True)
            released, scrapped = released + good, scrapped + qty - good
        row.open_qty -= qty
        save_with_history(row, actor=actor, reason=reason, fields=["open_qty"])
    return released, scrapped


def _free(lot: Lot, qty: Decimal, *, actor, reason: str) -> None:
    locked = mes.lock_lot(lot)
    locked.held_qty -= qty
    mes.settle_status(locked)
    save_with_history(locked, actor=actor, reason=reason, fields=["held_qty", "status"])


def _close_if_done(hold: QualityHold, *, actor, reason: str) -> bool:
    """Close a hold that holds nothing more; an order or operation takes work again."""
    if hold.lots.filter(open_qty__gt=0).exists():
        return False
    kinds = set(hold.decisions.values_list("kind", flat=True))
    hold.status = Status.RELEASED if kinds <= set(HoldDecision.FREES) else Status.DISPOSITIONED
    hold.closed_at = timezone.now()
    if hold.target in (Scope.WORK_ORDER, Scope.OPERATION):
        counted = hold.work_order if hold.target == Scope.WORK_ORDER else hold.operation
        counted = (
            lock_work_order(counted)
            if hold.target == Scope.WORK_ORDER
            else _lock_operation(counted)
        )
        counted.quality_holds = max(0, counted.quality_holds - 1)
        save_with_history(counted, actor=actor, reason=reason, fields=["quality_holds"])
    return True
