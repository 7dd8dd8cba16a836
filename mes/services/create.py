"""New work orders: their routing and components checked, created one by one or in bulk (an
ERP batch of 1,000 costs about what one order costs, times the rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from mes.audit.context import current_request_id
from mes.bulk import insert_history, insert_new_rows, insert_values
from mes.errors import DomainError, InvalidInput
from mes.models import Item, Operation, Site, WorkCenter, WorkOrder, WorkOrderComponent
from mes.outbox import emit_events

from .base import authorize, default_reason, to_decimal, work_order_payload


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
    erp_reference: str = ""
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
    user_id = actor.pk if actor is not None and actor.is_authenticated else None
    request_id = current_request_id()
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
        work_orders = [
            WorkOrder(
                site=order.site,
                erp_number=order.erp_number,
                item=order.item,
                planned_qty=qty,
                due_date=order.due_date,
                erp_version=order.erp_version,
                erp_reference=order.erp_reference,
                priority=order.priority,
                planned_start=order.planned_start,
                planned_end=order.planned_end,
            )
            for order, qty, _sequences, _materials in checked
        ]
        insert_new_rows(WorkOrder, work_orders)
        operations, components, reasons = [], [], {}
        for wo, (order, _qty, _sequences, materials) in zip(work_orders, checked, strict=True):
            reasons[wo.pk] = default_reason(order.reason, "created")[:100]
            for spec in sorted(order.operations, key=lambda s: s.sequence):
                values = _operation_values(spec)
                operations.append(
                    {
                        "work_order_id": wo.pk,
                        "sequence": spec.sequence,
                        "work_center_id": values.pop("work_center").pk,
                        **values,
                    }
                )
            for material, quantity in materials:
                components.append(
                    {"work_order_id": wo.pk, "item_id": material.pk, "quantity": quantity}
                )
        insert_values(Operation, operations)
        insert_values(WorkOrderComponent, components)
        stamps = {"user_id": user_id, "history_type": "+", "request_id": request_id}
        insert_history(WorkOrder, "id", reasons, **stamps)
        insert_history(Operation, "work_order", reasons, **stamps)
        insert_history(WorkOrderComponent, "work_order", reasons, **stamps)
        emit_events(
            [
                {
                    "event_type": "work_order.created",
                    "aggregate": wo,
                    "site": wo.site,
                    "actor": actor,
                    "reason": reasons[wo.pk],
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
