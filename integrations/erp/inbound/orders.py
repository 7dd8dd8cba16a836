"""Work orders from the ERP: new ones created in bulk, revisions applied (or, once the floor
has started, raised as an ``order_change`` exception for a decision), cancellations."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import serializers

from mes import services
from mes.choices import WorkOrderStatus as WO
from mes.errors import DomainError, InvalidInput
from mes.models import Item, Site, WorkCenter, WorkOrder
from mes.services import ComponentSpec, OperationSpec

from .batch import CANCELLED, CREATED, STALE, UNCHANGED, UPDATED, BatchKind, one, rejected


@dataclass
class Lookups:
    """The sites, items, work centers and orders one batch refers to, read once per batch."""

    sites: dict[str, Site] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    work_centers: dict[tuple[int, str], WorkCenter] = field(default_factory=dict)
    work_center_sites: dict[str, set[int]] = field(default_factory=dict)
    orders: dict[tuple[int, str], WorkOrder] = field(default_factory=dict)
    stored: dict[int, services.StoredRouting] = field(default_factory=dict)

    @classmethod
    def for_orders(cls, records: list[dict]) -> Lookups:
        def codes(key, nested=None):
            found = set()
            for record in records:
                if not isinstance(record, dict):
                    continue
                values = record.get(nested) if nested else [record]
                for value in values if isinstance(values, list) else []:
                    if isinstance(value, dict) and isinstance(value.get(key), str):
                        found.add(value[key])
            return found

        found = cls()
        found.sites = {s.code: s for s in Site.objects.filter(code__in=codes("site"))}
        item_codes = codes("item") | codes("item", "components")
        found.items = {i.code: i for i in Item.objects.filter(code__in=item_codes)}
        for wc in WorkCenter.objects.filter(code__in=codes("work_center", "operations")):
            found.work_centers[(wc.site_id, wc.code)] = wc
            found.work_center_sites.setdefault(wc.code, set()).add(wc.site_id)
        numbers = codes("erp_number")
        # Locked at once, in one order (two batches never wait on each other crosswise): the
        # batch compares every revision against them and holds them until it commits anyway.
        for wo in (
            WorkOrder.objects.select_for_update(of=("self",), no_key=True)
            .filter(erp_number__in=numbers, site__in=found.sites.values())
            .select_related("site", "item")
            .order_by("pk")
        ):
            found.orders[(wo.site_id, wo.erp_number)] = wo
        found.stored = services.stored_routings([wo.pk for wo in found.orders.values()])
        return found


def ingest_orders(spec: BatchKind, records: list, actor, lookups: Lookups) -> list[dict]:
    """Orders Andon does not know yet, sent once in the batch and valid, are created by one
    bulk service call; known ones whose record changes nothing on the floor are answered
    together (newer versions noted in one update); everything else (changes, cancellations,
    numbers sent twice) goes record by record, in order. If the bulk call fails, its records
    go one by one too, so each gets its own answer."""
    results: list[dict | None] = [None] * len(records)
    seen = Counter(r.get(spec.key) if isinstance(r, dict) else None for r in records)
    fresh: list[tuple[int, dict, Resolved]] = []
    notes: list[tuple[WorkOrder, services.Revision, str]] = []
    for n, record in enumerate(records):
        key = record.get(spec.key) if isinstance(record, dict) else None
        if not isinstance(key, str) or seen[key] != 1:
            results[n] = one(spec, record, actor, lookups)
            continue
        try:
            data = spec.validate(record)
        except serializers.ValidationError as exc:
            results[n] = rejected(spec.key, key, exc)
            continue
        site = lookups.sites.get(data["site"])
        existing = lookups.orders.get((site.pk, key)) if site is not None else None
        if site is None or data.get("status") == CANCELLED:
            results[n] = one(spec, record, actor, lookups, data=data)
            continue
        try:
            resolved = _resolve(data, lookups)
            if existing is None:
                services.authorize(actor, "mes.add_workorder", site)
            else:
                answer = _settled(existing, data, resolved, actor, lookups)
        except DomainError as exc:
            results[n] = rejected(spec.key, key, exc)
            continue
        if existing is None:
            fresh.append((n, data, resolved))
        elif answer is None:
            results[n] = one(spec, record, actor, lookups, data=data)
        else:
            results[n] = {"erp_number": key, **answer}
            if answer["status"] == UNCHANGED:
                reason = _version_reason(data["erp_version"])
                notes.append((existing, _revision(data, resolved), reason))
    services.note_erp_versions(notes, actor=actor)
    if fresh:
        try:
            with transaction.atomic():
                created = services.create_work_orders(
                    [_new_order(data, resolved) for _n, data, resolved in fresh], actor=actor
                )
        except (DomainError, IntegrityError):
            for n, _data, _resolved in fresh:
                results[n] = one(spec, records[n], actor, lookups)
        else:
            for (n, data, _resolved), wo in zip(fresh, created, strict=True):
                lookups.orders[(wo.site_id, wo.erp_number)] = wo
                results[n] = {"erp_number": data["erp_number"], "status": CREATED, "id": wo.pk}
    return results


def _settled(wo: WorkOrder, data: dict, resolved: Resolved, actor, lookups) -> dict | None:
    """The answer to a known order's record that changes nothing on the floor (``stale``, or
    ``unchanged``: the caller notes a newer version), from the rows the batch read; None when
    it needs the record-by-record path (a change, a cancelled order)."""
    services.authorize(actor, "mes.change_workorder", wo.site)
    version = data["erp_version"]
    if version < wo.erp_version:
        return {"status": STALE, "erp_version": wo.erp_version}
    if wo.status == WO.CANCELLED:
        return None
    revision = _revision(data, resolved)
    services.check_revision(wo, revision)
    if services.revision_changes(wo, revision, lookups.stored.get(wo.pk)):
        return None
    return {"status": UNCHANGED, "id": wo.pk}


def _new_order(data: dict, resolved: Resolved) -> services.NewWorkOrder:
    return services.NewWorkOrder(
        site=resolved.site,
        erp_number=data["erp_number"],
        reason=_version_reason(data["erp_version"]),
        **_order_fields(data, resolved),
    )


def _order_fields(data: dict, resolved: Resolved) -> dict:
    """What a new order and a revision of one are made of."""
    return {
        "item": resolved.item,
        "planned_qty": data["quantity"],
        "due_date": data["due_date"],
        "operations": resolved.operations,
        "components": resolved.components,
        "erp_version": data["erp_version"],
        "erp_reference": data.get("reference") or "",
    }


def _version_reason(version: int) -> str:
    return _("ERP version %(v)s") % {"v": version}


@dataclass(frozen=True)
class Resolved:
    site: Site
    item: Item
    operations: list[OperationSpec]
    components: list[ComponentSpec]


def known_site(lookups, code: str) -> Site:
    site = lookups.sites.get(code)
    if site is None or not site.is_active:
        raise InvalidInput(
            _("Unknown site %(code)s.") % {"code": code},
            code="unknown_site",
            fields={"site": [_("No such site.")]},
        )
    return site


def known_item(lookups, code: str) -> Item:
    item = lookups.items.get(code)
    if item is None:
        raise InvalidInput(
            _("Unknown item %(code)s.") % {"code": code},
            code="unknown_item",
            fields={"item": [_("No such item.")]},
        )
    return item


def _resolve(data: dict, lookups: Lookups) -> Resolved:
    site = known_site(lookups, data["site"])
    item = known_item(lookups, data["item"])
    operations = []
    for n, op in enumerate(data["operations"]):
        wc = lookups.work_centers.get((site.pk, op["work_center"]))
        if wc is None:
            elsewhere = lookups.work_center_sites.get(op["work_center"])
            raise InvalidInput(
                _("Work center %(code)s %(where)s.")
                % {
                    "code": op["work_center"],
                    "where": _("belongs to another site") if elsewhere else _("is unknown"),
                },
                code="work_center_other_site" if elsewhere else "unknown_work_center",
                fields={f"operations[{n}].work_center": [_("Not a work center of this site.")]},
            )
        operations.append(
            OperationSpec(
                sequence=op["sequence"],
                work_center=wc,
                setup_minutes=op["setup_minutes"],
                run_minutes_per_unit=op["run_minutes_per_unit"],
                description=op.get("description", ""),
            )
        )
    components = []
    for n, component in enumerate(data["components"]):
        material = lookups.items.get(component["item"])
        if material is None:
            raise InvalidInput(
                _("Unknown component item %(code)s.") % {"code": component["item"]},
                code="unknown_item",
                fields={f"components[{n}].item": [_("No such item.")]},
            )
        components.append(ComponentSpec(item=material, quantity=component["quantity"]))
    return Resolved(site, item, operations, components)


def apply_order(data: dict, actor, lookups: Lookups) -> dict:
    """One order record (in its own savepoint, :func:`batch.one`). A refusal rolls its writes
    back: the batch's view of the order goes back with them."""
    site = lookups.sites.get(data["site"])
    key = (site.pk, data["erp_number"]) if site else None
    before = lookups.orders.get(key) if key else None
    try:
        return _apply_order(data, actor, lookups)
    except Exception:
        if key is not None:
            if before is None:
                lookups.orders.pop(key, None)
            else:
                lookups.orders[key] = before
        raise


def _apply_order(data: dict, actor, lookups: Lookups) -> dict:
    site = lookups.sites.get(data["site"])
    existing = lookups.orders.get((site.pk, data["erp_number"])) if site else None
    version = data["erp_version"]
    cancel = data.get("status") == CANCELLED
    if existing is not None and version < existing.erp_version:
        return {"status": STALE, "erp_version": existing.erp_version}
    if existing is None and cancel:
        raise InvalidInput(
            _("Work order %(number)s is not known; nothing to cancel.")
            % {"number": data["erp_number"]},
            code="unknown_work_order",
            fields={"erp_number": [_("No such work order.")]},
        )
    reason = _version_reason(version)
    if cancel:
        answer, wo = _cancel(existing, data, actor, reason)
        lookups.orders[(wo.site_id, wo.erp_number)] = wo  # what the rest of the batch sees
        return answer
    resolved = _resolve(data, lookups)
    if existing is None:
        (wo,) = services.create_work_orders([_new_order(data, resolved)], actor=actor)
        lookups.orders[(wo.site_id, wo.erp_number)] = wo
        return {"status": CREATED, "id": wo.pk}
    wo = existing
    if wo.status == WO.CANCELLED:
        if version == wo.erp_version:
            if services.revision_changes(wo, _revision(data, resolved)):
                raise DomainError(
                    _("Version %(v)s was already received with other content; send a new version.")
                    % {"v": version},
                    code="version_conflict",
                )
            return {"status": UNCHANGED, "id": wo.pk}
        raise DomainError(
            _("Work order %(number)s was cancelled.") % {"number": wo.erp_number},
            code="work_order_cancelled",
        )
    outcome = services.revise_work_order(wo, _revision(data, resolved), actor=actor, reason=reason)
    lookups.orders[(wo.site_id, wo.erp_number)] = outcome.work_order
    if outcome.applied:
        return {"status": UPDATED, "id": wo.pk, "applied": True, "changed": outcome.changed}
    if not outcome.changed:
        return {"status": UNCHANGED, "id": wo.pk}
    if outcome.same_version:
        if _pending_change(wo, version):
            return {"status": UNCHANGED, "id": wo.pk}
        raise DomainError(
            _("Version %(v)s was already received with other content; send a new version.")
            % {"v": version},
            code="version_conflict",
        )
    ticket = _raise_order_change(wo, data, outcome.changed, actor)
    return {
        "status": UPDATED,
        "id": wo.pk,
        "applied": False,
        "changed": outcome.changed,
        "order_change": ticket.number,
    }


def _revision(data: dict, resolved: Resolved) -> services.Revision:
    fields = _order_fields(data, resolved)
    fields["erp_reference"] = data.get("reference")  # not sent: left as it is
    return services.Revision(**fields)


def _cancel(wo: WorkOrder, data: dict, actor, reason: str) -> tuple[dict, WorkOrder]:
    """The answer to a cancellation, and the order as it now is."""
    if wo.status == WO.CANCELLED:
        return {"status": UNCHANGED, "id": wo.pk}, wo
    if wo.erp_version == data["erp_version"] and _pending_change(wo, data["erp_version"]):
        return {"status": UNCHANGED, "id": wo.pk}, wo
    if services.has_started(wo) or wo.status not in (WO.PLANNED, WO.RELEASED, WO.ON_HOLD):
        ticket = _raise_order_change(wo, data, ["cancellation"], actor)
        wo = services.record_erp_version(wo, data["erp_version"], actor=actor, reason=reason)
        answer = {"status": UPDATED, "id": wo.pk, "applied": False, "changed": ["status"]}
        return {**answer, "order_change": ticket.number}, wo
    wo = services.cancel_work_order(
        wo, actor=actor, reason=_("Cancelled in the ERP") + f" ({reason})"
    )
    wo = services.record_erp_version(wo, data["erp_version"], actor=actor, reason=reason)
    return {"status": UPDATED, "id": wo.pk, "applied": True, "changed": ["status"]}, wo


def _pending_change(wo: WorkOrder, version: int) -> bool:
    """Is there already an order_change exception for this ERP version of the order?"""
    from exceptions.models import ExceptionTicket

    return ExceptionTicket.objects.filter(
        work_order=wo, type__code="order_change", external_refs__erp_version=version
    ).exists()


_CHANGE_LABELS = {
    "quantity": "quantity",
    "due_date": "due date",
    "cancellation": "cancellation",
}


def _raise_order_change(wo: WorkOrder, data: dict, changes: list[str], actor):
    """An ``order_change`` exception for the planner: what the ERP wants, and the record."""
    from exceptions import services as exception_services
    from exceptions.choices import RaisedVia
    from exceptions.models import ExceptionType

    kind = next((_CHANGE_LABELS[c] for c in changes if c in _CHANGE_LABELS), "routing")
    form = {"change": kind}
    if "quantity" in changes:
        form["new_quantity"] = float(data["quantity"])
    if "due_date" in changes:
        form["new_due_date"] = data["due_date"].isoformat()
    description = _(
        "The ERP sent version %(v)s of %(number)s, which the floor has started: %(changes)s."
    ) % {
        "v": data["erp_version"],
        "number": wo.erp_number,
        "changes": ", ".join(changes),
    }
    return exception_services.raise_exception(
        actor=actor,
        exception_type=ExceptionType.objects.get(code="order_change"),
        site=wo.site,
        description=description,
        data=form,
        work_order=wo,
        raised_via=RaisedVia.ERP,
        external_refs={
            "erp_number": wo.erp_number,
            "erp_version": data["erp_version"],
            "changes": changes,
            "quantity": str(data["quantity"]) if "quantity" in data else None,
            "due_date": data["due_date"].isoformat() if "due_date" in data else None,
        },
    )
