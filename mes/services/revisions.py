"""Revisions of a work order by the ERP: one comparison says what a revision changes, one
service applies it (or, once the floor has started the order, only notes its version)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.audit.context import current_request_id
from mes.bulk import insert_history, update_rows
from mes.errors import TransitionNotAllowed
from mes.models import Item, Operation, WorkCenter, WorkOrder, WorkOrderComponent
from mes.outbox import emit_event

from .base import (
    OP,
    WO,
    authorize,
    default_reason,
    lock_work_order,
    save_with_history,
    work_order_payload,
)
from .create import (
    ComponentSpec,
    OperationSpec,
    _check_components,
    _check_quantity,
    _check_routing,
    _operation_values,
)


@dataclass(frozen=True)
class Revision:
    """What the ERP says an order is now, at ``erp_version``."""

    item: Item
    planned_qty: Decimal
    due_date: date
    operations: Sequence[OperationSpec]
    components: Sequence[ComponentSpec] = ()
    erp_version: int = 0
    erp_reference: str | None = None  # None: left as it is


@dataclass(frozen=True)
class RevisionOutcome:
    """``changed``: what the revision differs in (``item``, ``quantity``, ``due_date``,
    ``routing``, ``components``). ``applied``: the floor's copy was rewritten. ``started``: the
    floor has begun the order, so nothing was rewritten (a change needs a decision).
    ``same_version``: the order is already at this ERP version."""

    work_order: WorkOrder
    changed: list[str]
    applied: bool = False
    started: bool = False
    same_version: bool = False


def has_started(wo: WorkOrder) -> bool:
    """Has the floor begun the order (an operation started, or the order ever in progress)?"""
    if wo.started_at is not None or wo.status in (WO.IN_PROGRESS, WO.COMPLETED, WO.CLOSED):
        return True
    return wo.operations.exclude(status__in=[OP.QUEUED, OP.CANCELLED]).exists()


@dataclass(frozen=True)
class StoredRouting:
    """What an order holds now, read in bulk for many orders (:func:`stored_routings`):
    ``operations`` as ``(sequence, work center id, setup, run per unit, status)``,
    ``components`` as item id -> quantity."""

    operations: list[tuple] = field(default_factory=list)
    components: dict[int, Decimal] = field(default_factory=dict)


def stored_routings(work_order_ids) -> dict[int, StoredRouting]:
    """The routing and components of many orders in two queries."""
    found = {pk: StoredRouting() for pk in work_order_ids}
    for wo_id, *op in Operation.objects.filter(work_order_id__in=found).values_list(
        "work_order_id",
        "sequence",
        "work_center_id",
        "planned_setup_minutes",
        "planned_run_minutes_per_unit",
        "status",
    ):
        found[wo_id].operations.append(tuple(op))
    for wo_id, item_id, quantity in WorkOrderComponent.objects.filter(
        work_order_id__in=found
    ).values_list("work_order_id", "item_id", "quantity"):
        found[wo_id].components[item_id] = quantity
    return found


def revision_changes(
    wo: WorkOrder, revision: Revision, stored: StoredRouting | None = None
) -> list[str]:
    """What ``revision`` would change on the floor (empty: nothing). The routing is compared
    by work center and planned minutes of the operations not cancelled (all of them, for a
    cancelled order, whose operations were cancelled with it); components by item and
    quantity. ``stored``: the order's rows as read in bulk (else read here)."""
    if stored is None:
        stored = stored_routings([wo.pk])[wo.pk]
    changes = []
    if wo.item_id != revision.item.pk:
        changes.append("item")
    if wo.planned_qty != Decimal(revision.planned_qty):
        changes.append("quantity")
    if wo.due_date != revision.due_date:
        changes.append("due_date")
    stored_ops = {
        sequence: (work_center, setup, run)
        for sequence, work_center, setup, run, status in stored.operations
        if wo.status == WO.CANCELLED or status != OP.CANCELLED
    }
    wanted_ops = {
        spec.sequence: (
            spec.work_center.pk,
            Decimal(spec.setup_minutes),
            Decimal(spec.run_minutes_per_unit),
        )
        for spec in revision.operations
    }
    if stored_ops != wanted_ops:
        changes.append("routing")
    wanted_components = {spec.item.pk: Decimal(spec.quantity) for spec in revision.components}
    if stored.components != wanted_components:
        changes.append("components")
    return changes


def note_erp_versions(notes: Sequence[tuple[WorkOrder, Revision, str]], *, actor) -> None:
    """Record newer ERP versions that change nothing on the floor, for many orders at once
    (``(order, revision, reason)``, each order locked by the caller and its revision
    compared): the version, and the reference where sent and different, in one update, one
    history row per order in one insert. The batch path of :func:`revise_work_order`'s
    no-change case."""
    notes = [(wo, r, reason) for wo, r, reason in notes if r.erp_version > wo.erp_version]
    if not notes:
        return
    for site_id in {wo.site_id for wo, _r, _reason in notes}:
        authorize(actor, "mes.change_workorder", site_id)
    now = timezone.now()
    for wo, revision, _reason in notes:
        wo.erp_version, wo.updated_at = revision.erp_version, now
        if revision.erp_reference is not None:
            wo.erp_reference = revision.erp_reference
    update_rows(
        WorkOrder,
        [wo for wo, _r, _reason in notes],
        ["erp_version", "erp_reference", "updated_at"],
    )
    insert_history(
        WorkOrder,
        "id",
        {wo.pk: default_reason(reason, "revised") for wo, _r, reason in notes},
        user_id=actor.pk if actor is not None and actor.is_authenticated else None,
        history_type="~",
        request_id=current_request_id(),
        when=now,
    )


def check_revision(work_order: WorkOrder, revision: Revision) -> tuple[Decimal, list]:
    """Refuse a revision no order could take (quantity, routing, components); returns the
    quantity and the materials, checked."""
    qty = _check_quantity(revision.planned_qty)
    _check_routing(work_order.site, revision.operations)
    return qty, _check_components(revision.components)


def revise_work_order(
    work_order: WorkOrder, revision: Revision, *, actor, reason: str = ""
) -> RevisionOutcome:
    """Apply an ERP revision to a work order the floor has not started: item, quantity, due
    date, routing and components become the revision's, and its ERP version is recorded.

    Nothing is rewritten when nothing changed or the order is already at this version (a
    higher version is still noted), nor when the floor has started the order: then only the
    version is noted and the outcome says ``started`` (the caller raises the decision). A
    cancelled order is refused (``work_order_cancelled``)."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    qty, materials = check_revision(work_order, revision)
    reason = default_reason(reason, "revised")
    with transaction.atomic():
        wo = lock_work_order(work_order)
        if wo.status == WO.CANCELLED:
            raise TransitionNotAllowed(
                _("Work order %(number)s is cancelled.") % {"number": wo.erp_number},
                code="work_order_cancelled",
            )
        changed = revision_changes(wo, revision)
        same_version = revision.erp_version == wo.erp_version
        started = bool(changed) and not same_version and has_started(wo)
        if not changed or same_version or started:
            newer = revision.erp_version > wo.erp_version
            _note_version(wo, revision.erp_version, actor=actor, reason=reason)
            if newer:
                _note_reference(wo, revision, actor=actor, reason=reason)
            return RevisionOutcome(wo, changed, started=started, same_version=same_version)
        fields = ["updated_at", "erp_version"]
        for name, field, value in (
            ("item", "item", revision.item),
            ("quantity", "planned_qty", qty),
            ("due_date", "due_date", revision.due_date),
        ):
            if name in changed:
                setattr(wo, field, value)
                fields.append(field)
        if "routing" in changed:
            _revise_routing(wo, revision.operations, actor=actor, reason=reason)
        if "components" in changed:
            _revise_components(wo, materials, actor=actor, reason=reason)
        wo.erp_version = revision.erp_version
        if revision.erp_reference is not None and revision.erp_reference != wo.erp_reference:
            wo.erp_reference = revision.erp_reference
            fields.append("erp_reference")
        save_with_history(wo, actor=actor, reason=reason, fields=fields)
        emit_event(
            "work_order.revised",
            aggregate=wo,
            site=wo.site,
            actor=actor,
            reason=reason,
            payload=work_order_payload(
                wo,
                changed=changed,
                planned_qty=str(wo.planned_qty),
                due_date=wo.due_date.isoformat(),
                erp_version=wo.erp_version,
            ),
        )
    return RevisionOutcome(wo, changed, applied=True)


def _note_reference(wo: WorkOrder, revision: Revision, *, actor, reason: str) -> None:
    """The ERP's reference is display text: kept current whatever the floor has done (the
    caller passes a newer version only, like every other change)."""
    reference = revision.erp_reference
    if reference is None or reference == wo.erp_reference:
        return
    wo.erp_reference = reference
    save_with_history(wo, actor=actor, reason=reason, fields=["erp_reference", "updated_at"])


def _note_version(wo: WorkOrder, erp_version: int, *, actor, reason: str) -> None:
    if erp_version > wo.erp_version:
        wo.erp_version = erp_version
        save_with_history(wo, actor=actor, reason=reason, fields=["erp_version", "updated_at"])


def record_erp_version(work_order: WorkOrder, erp_version: int, *, actor, reason: str) -> WorkOrder:
    """Note that the ERP's order is now at ``erp_version`` without changing the floor's copy
    (a change to a started order waits for a decision). Returns the order as it now is."""
    authorize(actor, "mes.change_workorder", work_order.site_id)
    with transaction.atomic():
        wo = lock_work_order(work_order)
        _note_version(wo, erp_version, actor=actor, reason=reason)
    return wo


def _revise_routing(wo: WorkOrder, operations: Sequence[OperationSpec], *, actor, reason) -> None:
    """Make the queued routing the given one; a released order's new or moved operations join
    the tail of their work center's queue."""
    existing = {op.sequence: op for op in wo.operations.select_for_update()}
    wanted = {spec.sequence: spec for spec in operations}
    for sequence, op in existing.items():
        if sequence not in wanted:
            op._history_user, op._change_reason = actor, reason[:100]
            op.delete()
    for sequence, spec in sorted(wanted.items()):
        values = _operation_values(spec)
        op = existing.get(sequence)
        if op is None:
            op = Operation(work_order=wo, sequence=sequence, **values)
            moved = True
        else:
            moved = op.work_center_id != spec.work_center.pk
            if not moved and all(getattr(op, k) == v for k, v in values.items()):
                continue
            for key, value in values.items():
                setattr(op, key, value)
        if moved and wo.status != WO.PLANNED:
            op.dispatch_rank = _queue_tail(spec.work_center) + 1
        save_with_history(op, actor=actor, reason=reason)


def _queue_tail(work_center: WorkCenter) -> int:
    WorkCenter.objects.select_for_update().filter(pk=work_center.pk).first()
    tail = Operation.objects.filter(work_center=work_center, dispatch_rank__isnull=False).aggregate(
        m=Max("dispatch_rank")
    )["m"]
    return tail or 0


def _revise_components(wo: WorkOrder, materials: list[tuple[Item, Decimal]], *, actor, reason):
    existing = {c.item_id: c for c in wo.components.select_for_update()}
    wanted = {material.pk: (material, quantity) for material, quantity in materials}
    for item_id, component in existing.items():
        if item_id not in wanted:
            component._history_user, component._change_reason = actor, reason[:100]
            component.delete()
    for item_id, (material, quantity) in wanted.items():
        component = existing.get(item_id)
        if component is not None and component.quantity == quantity:
            continue
        if component is None:
            component = WorkOrderComponent(work_order=wo, item=material)
        component.quantity = quantity
        save_with_history(component, actor=actor, reason=reason)
