"""Quality holds: place one, put it under review, and decide on what it holds (release, or a
disposition). Held quantity is refused by every core path (``mes`` checks ``Lot.held_qty``
and the order's and operation's ``quality_holds``): these services are the only writers of
those fields, always under the row locks the core takes too.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from mes import services as mes
from mes.errors import DomainError, InvalidInput, NotPermitted
from mes.models import Lot, Operation, WorkOrder
from mes.outbox import emit_event
from mes.services.base import (
    authorize,
    lock_work_order,
    require_reason,
    save_with_history,
    to_decimal,
)

from ..genealogy import descendants
from ..models import HeldLot, HoldDecision, QualityHold, SiteQualityPolicy

Scope = QualityHold.Target
Status = QualityHold.Status
Kind = HoldDecision.Kind
_HOLDABLE = ("available", "on_hold")


def _target_lots(hold: QualityHold) -> list[Lot]:
    """The lots a hold's scope names, locked in id order (the core's order)."""
    query = Lot.objects.filter(site=hold.site, status__in=_HOLDABLE)
    if hold.target == Scope.LOT:
        query = query.filter(pk=hold.lot_id)
    elif hold.target == Scope.SUPPLIER_LOT:
        query = query.filter(pk__in=[hold.lot_id, *descendants(hold.lot_id)])
    elif hold.target == Scope.WORK_ORDER:
        query = query.filter(work_order=hold.work_order_id)
    elif hold.target == Scope.OPERATION:
        query = query.filter(produced_by__operation=hold.operation_id)
    else:
        query = query.filter(item=hold.item_id)
    return list(query.select_for_update(of=("self",)).select_related("item", "site").order_by("pk"))


def _lot_rows(held: list[tuple[Lot, Decimal]]) -> list[dict]:
    return [{"lot": lot.number, "item": lot.item.code, "quantity": str(q)} for lot, q in held]


def place_hold(
    *,
    scope: str,
    reason: str,
    actor,
    lot: Lot | None = None,
    work_order: WorkOrder | None = None,
    operation: Operation | None = None,
    item=None,
    site=None,
    quantity=None,
    nonconformance=None,
    ticket=None,
) -> QualityHold:
    """Hold what ``scope`` names (reason required): a lot (all its free quantity, or
    ``quantity`` of it), an order or an operation (no confirmation while held, and the lots it
    made), all lots of an item at ``site``, or a lot and every lot made from it."""
    if scope not in Scope.values:
        raise InvalidInput(
            _("Unknown hold scope."), code="invalid_scope", fields={"scope": [scope]}
        )
    target = {
        Scope.LOT: lot,
        Scope.SUPPLIER_LOT: lot,
        Scope.WORK_ORDER: work_order,
        Scope.OPERATION: operation,
        Scope.ITEM: item,
    }[scope]
    if target is None or (scope == Scope.ITEM and site is None):
        raise InvalidInput(
            _("Name what to hold."), code="hold_target_required", fields={scope: [_("Required.")]}
        )
    if scope == Scope.OPERATION:
        work_order = operation.work_order
    site = site if scope == Scope.ITEM else (work_order or lot).site
    authorize(actor, "quality.add_qualityhold", site)
    reason = require_reason(reason)
    wanted = to_decimal(quantity, "quantity") if quantity not in (None, "") else None
    if wanted is not None and (scope != Scope.LOT or wanted <= 0):
        raise InvalidInput(
            _("A quantity is held only on one lot, and must be more than zero."),
            code="invalid_quantity",
            fields={"quantity": [_("Invalid here.")]},
        )
    with transaction.atomic():
        hold = QualityHold(
            site=site,
            target=scope,
            reason=reason[:500],
            lot=lot if scope in (Scope.LOT, Scope.SUPPLIER_LOT) else None,
            work_order=work_order if scope in (Scope.WORK_ORDER, Scope.OPERATION) else None,
            operation=operation if scope == Scope.OPERATION else None,
            item=item if scope == Scope.ITEM else None,
            nonconformance=nonconformance,
            ticket=ticket,
            placed_by=actor if actor is not None and actor.is_authenticated else None,
        )
        if scope in (Scope.WORK_ORDER, Scope.OPERATION):
            wo = lock_work_order(work_order)
            counted = wo if scope == Scope.WORK_ORDER else _lock_operation(operation)
            counted.quality_holds += 1
            save_with_history(counted, actor=actor, reason=reason, fields=["quality_holds"])
        save_with_history(hold, actor=actor, reason=reason)
        held = []
        for target_lot in _target_lots(hold):
            qty = target_lot.free_qty if wanted is None else wanted
            if wanted is not None and qty > target_lot.free_qty:
                raise DomainError(
                    _("Lot %(lot)s has %(free)s free to hold, %(want)s requested.")
                    % {"lot": target_lot.number, "free": target_lot.free_qty, "want": qty},
                    code="lot_on_hold" if target_lot.held_qty else "insufficient_lot_quantity",
                )
            if qty <= 0:
                continue
            target_lot.held_qty += qty
            mes.settle_status(target_lot)
            save_with_history(target_lot, actor=actor, reason=reason, fields=["held_qty", "status"])
            save_with_history(
                HeldLot(hold=hold, lot=target_lot, quantity=qty, open_qty=qty),
                actor=actor,
                reason=reason,
            )
            held.append((target_lot, qty))
        if not held and scope not in (Scope.WORK_ORDER, Scope.OPERATION):
            raise DomainError(
                _("Nothing to hold: no lot of this scope has free quantity."),
                code="nothing_to_hold",
            )
        emit_event(
            "quality_hold.placed",
            aggregate=hold,
            site=site,
            actor=actor,
            reason=reason,
            payload=hold_payload(hold, lots=_lot_rows(held)),
        )
    hold.known_lots = held
    return hold


def extend_item_holds(lot: Lot, *, actor) -> None:
    """A lot created (received or made) while its item is on hold at its site joins the
    hold: all its free quantity, in the transaction that creates it (run by
    ``mes.services.on_new_lot``). The lot is new, so no one else holds its lock."""
    holds = (
        QualityHold.objects.select_for_update(of=("self",))
        .select_related("site", "item", "work_order", "nonconformance")
        .filter(
            site=lot.site_id,
            target=Scope.ITEM,
            item=lot.item_id,
            status__in=[Status.ACTIVE, Status.UNDER_REVIEW],
        )
        .order_by("pk")
    )
    for hold in holds:
        qty = lot.free_qty
        if qty <= 0:
            return
        reason = _("%(lot)s joins %(hold)s (its item is on hold)") % {
            "lot": lot.number,
            "hold": hold,
        }
        lot.held_qty += qty
        mes.settle_status(lot)
        save_with_history(lot, actor=actor, reason=reason, fields=["held_qty", "status"])
        save_with_history(
            HeldLot(hold=hold, lot=lot, quantity=qty, open_qty=qty), actor=actor, reason=reason
        )
        hold.version += 1  # it holds more than whoever read it saw
        save_with_history(hold, actor=actor, reason=reason, fields=["version"])
        emit_event(
            "quality_hold.extended",
            aggregate=hold,
            site=hold.site,
            actor=actor,
            reason=reason,
            payload=hold_payload(hold, lots=_lot_rows([(lot, qty)])),
        )


def hold_payload(hold: QualityHold, **extra) -> dict:
    return {
        "hold": hold.number,
        "hold_id": hold.pk,
        "site": hold.site.code,
        "target": hold.target,
        "status": hold.status,
        "work_order": hold.work_order.erp_number if hold.work_order_id else None,
        "item": hold.item.code if hold.item_id else None,
        "nonconformance": hold.nonconformance.number if hold.nonconformance_id else None,
        **extra,
    }


def _lock_operation(operation: Operation) -> Operation:
    return Operation.objects.select_for_update().get(pk=operation.pk)


def lock_hold(hold: QualityHold, expected_version: int | None = None) -> QualityHold:
    from exceptions.services.base import PreconditionFailed

    locked = (
        QualityHold.objects.select_for_update(of=("self",))
        .select_related("site", "work_order", "item", "nonconformance")
        .get(pk=hold.pk)
    )
    if expected_version is not None and expected_version != locked.version:
        raise PreconditionFailed(
            _("The hold changed since you read it (version %(v)s).") % {"v": locked.version}
        )
    return locked


def _check_decider(hold: QualityHold, actor, perm: str) -> None:
    authorize(actor, perm, hold.site_id)
    if actor is None or hold.placed_by_id is None or actor.pk != hold.placed_by_id:
        return
    policy = SiteQualityPolicy.objects.filter(site_id=hold.site_id).first()
    if policy is not None and policy.two_person_release:
        raise NotPermitted(
            _("Two-person rule at %(site)s: who placed a hold cannot release it.")
            % {"site": hold.site.code},
            code="two_person_rule",
        )


def review_hold(hold: QualityHold, *, actor, reason: str, expected_version=None) -> QualityHold:
    """Active -> under review (quality is looking at it; it still holds everything)."""
    authorize(actor, "quality.change_qualityhold", hold.site_id)
    reason = require_reason(reason)
    with transaction.atomic():
        hold = lock_hold(hold, expected_version)
        if hold.status != Status.ACTIVE:
            raise DomainError(
                _("%(hold)s is %(status)s.") % {"hold": hold, "status": hold.get_status_display()},
                code="hold_not_active",
            )
        hold.status = Status.UNDER_REVIEW
        hold.version += 1
        save_with_history(hold, actor=actor, reason=reason, fields=["status", "version"])
        emit_event(
            "quality_hold.reviewed",
            aggregate=hold,
            site=hold.site,
            actor=actor,
            reason=reason,
            payload=hold_payload(hold),
        )
    return hold
