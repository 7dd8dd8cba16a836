"""Shared by every service: permission check, audited save, reasons, numbers, transitions."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.db.models import Model
from django.utils.translation import gettext as _

from mes.access import can_access_site
from mes.choices import (
    OPERATION_TRANSITIONS,
    WORK_ORDER_ACTIONS,
    WORK_ORDER_TRANSITIONS,
    OperationStatus,
    WorkOrderStatus,
)
from mes.errors import InvalidInput, NotPermitted, TransitionNotAllowed
from mes.models import Lot, Operation, Site, WorkOrder
from mes.registry import Registry

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


def default_reason(reason: str | None, default: str) -> str:
    return (reason or "").strip() or default


def require_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("A reason is required."),
            code="reason_required",
            fields={"reason": [_("This field is required.")]},
        )
    return reason


def check_work_order_action(wo: WorkOrder, to: str, verb: str) -> None:
    if wo.status not in WORK_ORDER_ACTIONS[verb] or to not in WORK_ORDER_TRANSITIONS[wo.status]:
        raise TransitionNotAllowed(
            _("Work order %(number)s cannot go from %(src)s to %(dst)s.")
            % {"number": wo.erp_number, "src": wo.status, "dst": to}
        )


def check_operation_transition(op: Operation, to: str) -> None:
    if to not in OPERATION_TRANSITIONS[op.status]:
        raise TransitionNotAllowed(
            _("Operation %(op)s cannot go from %(src)s to %(dst)s.")
            % {"op": str(op), "src": op.status, "dst": to}
        )


def lock_work_order(work_order: WorkOrder | int) -> WorkOrder:
    pk = work_order if isinstance(work_order, int) else work_order.pk
    return (
        WorkOrder.objects.select_for_update(of=("self",), no_key=True)
        .select_related("site", "item")
        .get(pk=pk)
    )


def work_order_payload(wo: WorkOrder, **extra) -> dict:
    return {
        "work_order_id": wo.pk,
        "erp_number": wo.erp_number,
        "site": wo.site.code,
        "item": wo.item.code,
        "status": wo.status,
        **extra,
    }


def to_decimal(value, field: str, places: int = 3) -> Decimal:
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


#: Called in the transaction that creates a lot (a supplier lot received, or a lot a
#: confirmation made) with the new lot and the actor: quality holds a lot that arrives
#: without the certificate its item requires, or whose item is on hold.
on_new_lot: Registry = Registry(
    "new lot checks",
    "Run inside the transaction that creates a lot (received or made), with the new lot.",
    multiple=True,
)


def run_new_lot_checks(lot: Lot, *, actor) -> None:
    for _name, checks in on_new_lot.items():
        for check in checks:
            check(lot, actor=actor)
