"""What the ERP sends: batches of records keyed by ERP identifiers, answered record by record.

Every record is validated on its own and applied in a savepoint of its own, through the
production services (permission, site, history, outbox event), so a bad record is answered
``rejected`` with a code and field errors and never blocks or half-writes the good ones. The
whole batch runs in one transaction with its ``Idempotency-Key`` record: a replayed batch gets
the first answer and changes nothing.

Work orders (``status`` per record):

- ``created``: unknown ``(site, erp_number)``: a planned order with its routing and components.
- ``stale``: ``erp_version`` lower than the one Andon has: ignored.
- ``unchanged``: the same version again, or a higher one with nothing the floor cares about
  changed (the version is noted).
- ``updated``: a higher version that changes item, quantity, due date, routing or components
  of an order the floor has not started: rewritten (``changed`` lists what); or a cancellation
  (``"status": "cancelled"``) of such an order: cancelled. If the floor **has started** the
  order, nothing on the floor is rewritten: an ``order_change`` exception is raised for the
  planner (``order_change`` carries its number), the version is noted so resends are
  ``unchanged``, and ``applied`` is false.
- ``rejected``: invalid (``code``, ``detail``, ``fields``); the stored order stands.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import serializers

from mes import services
from mes.choices import ItemKind, Unit, WorkCenterKind
from mes.choices import WorkOrderStatus as WO
from mes.errors import DomainError, InvalidInput, error_body
from mes.models import Item, Lot, Site, WorkCenter, WorkOrder
from mes.services.work_orders import ComponentSpec, OperationSpec

MAX_BATCH = 1000

CREATED, UPDATED, UNCHANGED, STALE, REJECTED = (
    "created",
    "updated",
    "unchanged",
    "stale",
    "rejected",
)
STATUSES = (CREATED, UPDATED, UNCHANGED, STALE, REJECTED)
CANCELLED = "cancelled"

_INT_MAX = 2**31 - 1
_BIGINT_MAX = 2**63 - 1


# --- the shape of a record ------------------------------------------------------------------


class OperationIn(serializers.Serializer):
    sequence = serializers.IntegerField(min_value=1, max_value=_INT_MAX)
    work_center = serializers.CharField(max_length=40)
    setup_minutes = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)
    run_minutes_per_unit = serializers.DecimalField(max_digits=12, decimal_places=4, min_value=0)
    description = serializers.CharField(max_length=200, required=False, default="")


class ComponentIn(serializers.Serializer):
    item = serializers.CharField(max_length=60)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0)


class WorkOrderIn(serializers.Serializer):
    erp_number = serializers.CharField(max_length=64)
    site = serializers.CharField(max_length=20)
    item = serializers.CharField(max_length=60)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3)
    due_date = serializers.DateField()
    erp_version = serializers.IntegerField(min_value=0, max_value=_BIGINT_MAX)
    status = serializers.ChoiceField(choices=["active", CANCELLED], required=False)
    operations = OperationIn(many=True, required=False, default=list)
    components = ComponentIn(many=True, required=False, default=list)

    def validate_quantity(self, value):
        if value <= 0:
            raise serializers.ValidationError(
                _("The quantity must be more than zero."), code="invalid_quantity"
            )
        return value

    def validate(self, attrs):
        if attrs.get("status") != CANCELLED and not attrs["operations"]:
            raise serializers.ValidationError(
                {"operations": [_("At least one operation is required.")]},
                code="missing_operations",
            )
        sequences = [op["sequence"] for op in attrs["operations"]]
        if len(set(sequences)) != len(sequences):
            raise serializers.ValidationError(
                {"operations": [_("Operation sequences must be unique.")]},
                code="duplicate_sequence",
            )
        return attrs


# --- one batch ------------------------------------------------------------------------------


@dataclass
class Lookups:
    """The sites, items, work centers and orders one batch refers to, read once per batch."""

    sites: dict[str, Site] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    work_centers: dict[tuple[int, str], WorkCenter] = field(default_factory=dict)
    work_center_sites: dict[str, set[int]] = field(default_factory=dict)
    orders: dict[tuple[int, str], WorkOrder] = field(default_factory=dict)

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
        for wo in WorkOrder.objects.filter(
            erp_number__in=numbers, site__in=found.sites.values()
        ).select_related("site", "item"):
            found.orders[(wo.site_id, wo.erp_number)] = wo
        return found


def ingest(kind: str, records: list, *, actor) -> list[dict]:
    """Apply a batch of ERP records of ``kind`` (see :data:`KINDS`); one result per record,
    in order, each applied in a savepoint of its own (new work orders: together, below)."""
    spec = KINDS[kind]
    lookups = spec.lookups(records)
    if kind == "orders":
        return _ingest_orders(spec, records, actor, lookups)
    return [_one(spec, record, actor, lookups) for record in records]


def _ingest_orders(spec: BatchKind, records: list, actor, lookups: Lookups) -> list[dict]:
    """Orders Andon does not know yet, sent once in the batch and valid, are created by one
    bulk service call; everything else (changes, cancellations, numbers sent twice) goes
    record by record, in order. If the bulk call fails, its records go one by one too, so
    each gets its own answer."""
    results: list[dict | None] = [None] * len(records)
    seen = Counter(r.get(spec.key) if isinstance(r, dict) else None for r in records)
    fresh: list[tuple[int, dict, Resolved]] = []
    for n, record in enumerate(records):
        key = record.get(spec.key) if isinstance(record, dict) else None
        if not isinstance(key, str) or seen[key] != 1:
            results[n] = _one(spec, record, actor, lookups)
            continue
        try:
            data = spec.validate(record)
        except serializers.ValidationError as exc:
            results[n] = _rejected(spec.key, key, exc)
            continue
        site = lookups.sites.get(data["site"])
        if site is None or (site.pk, key) in lookups.orders or data.get("status") == CANCELLED:
            results[n] = _one(spec, record, actor, lookups)
            continue
        try:
            resolved = _resolve(data, lookups)
            services.authorize(actor, "mes.add_workorder", site)
        except DomainError as exc:
            results[n] = _rejected(spec.key, key, exc)
            continue
        fresh.append((n, data, resolved))
    if fresh:
        try:
            with transaction.atomic():
                created = services.create_work_orders(
                    [_new_order(data, resolved) for _n, data, resolved in fresh], actor=actor
                )
        except (DomainError, IntegrityError):
            for n, _data, _resolved in fresh:
                results[n] = _one(spec, records[n], actor, lookups)
        else:
            for (n, data, _resolved), wo in zip(fresh, created, strict=True):
                lookups.orders[(wo.site_id, wo.erp_number)] = wo
                results[n] = {"erp_number": data["erp_number"], "status": CREATED, "id": wo.pk}
    return results


def _new_order(data: dict, resolved: Resolved) -> services.NewWorkOrder:
    return services.NewWorkOrder(
        site=resolved.site,
        erp_number=data["erp_number"],
        item=resolved.item,
        planned_qty=data["quantity"],
        due_date=data["due_date"],
        operations=resolved.operations,
        components=resolved.components,
        erp_version=data["erp_version"],
        reason=_version_reason(data["erp_version"]),
    )


def _version_reason(version: int) -> str:
    return _("ERP version %(v)s") % {"v": version}


def summarize(results: list[dict]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result["status"]] += 1
    return counts


def _one(spec: BatchKind, record, actor, lookups) -> dict:
    key = record.get(spec.key) if isinstance(record, dict) else None
    key = key if isinstance(key, str) else None
    try:
        data = spec.validate(record)
    except serializers.ValidationError as exc:
        return _rejected(spec.key, key, exc)
    try:
        with transaction.atomic():
            return {spec.key: data[spec.key], **spec.apply(data, actor, lookups)}
    except DomainError as exc:
        return _rejected(spec.key, key, exc)
    except IntegrityError:  # the same new record written by a concurrent batch: retry later
        return _rejected(
            spec.key,
            key,
            DomainError(_("The record changed while it was applied."), code="conflict"),
        )


def _rejected(key_name: str, key, exc) -> dict:
    return {key_name: key, "status": REJECTED, **error_body(exc)}


@dataclass(frozen=True)
class Resolved:
    site: Site
    item: Item
    operations: list[OperationSpec]
    components: list[ComponentSpec]


def _site(lookups, code: str) -> Site:
    site = lookups.sites.get(code)
    if site is None or not site.is_active:
        raise InvalidInput(
            _("Unknown site %(code)s.") % {"code": code},
            code="unknown_site",
            fields={"site": [_("No such site.")]},
        )
    return site


def _item(lookups, code: str) -> Item:
    item = lookups.items.get(code)
    if item is None:
        raise InvalidInput(
            _("Unknown item %(code)s.") % {"code": code},
            code="unknown_item",
            fields={"item": [_("No such item.")]},
        )
    return item


def _resolve(data: dict, lookups: Lookups) -> Resolved:
    site = _site(lookups, data["site"])
    item = _item(lookups, data["item"])
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
        return _cancel(existing, data, actor, reason)
    resolved = _resolve(data, lookups)
    if existing is None:
        (wo,) = services.create_work_orders([_new_order(data, resolved)], actor=actor)
        lookups.orders[(wo.site_id, wo.erp_number)] = wo
        return {"status": CREATED, "id": wo.pk}
    wo = existing
    if wo.status == WO.CANCELLED:
        if version == wo.erp_version:
            return {"status": UNCHANGED, "id": wo.pk}
        raise DomainError(
            _("Work order %(number)s was cancelled.") % {"number": wo.erp_number},
            code="work_order_cancelled",
        )
    outcome = services.revise_work_order(
        wo,
        services.Revision(
            item=resolved.item,
            planned_qty=data["quantity"],
            due_date=data["due_date"],
            operations=resolved.operations,
            components=resolved.components,
            erp_version=version,
        ),
        actor=actor,
        reason=reason,
    )
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


def _cancel(wo: WorkOrder, data: dict, actor, reason: str) -> dict:
    if wo.status == WO.CANCELLED:
        return {"status": UNCHANGED, "id": wo.pk}
    if wo.erp_version == data["erp_version"] and _pending_change(wo, data["erp_version"]):
        return {"status": UNCHANGED, "id": wo.pk}
    if services.has_started(wo) or wo.status not in (WO.PLANNED, WO.RELEASED, WO.ON_HOLD):
        ticket = _raise_order_change(wo, data, ["cancellation"], actor)
        services.record_erp_version(wo, data["erp_version"], actor=actor, reason=reason)
        return {
            "status": UPDATED,
            "id": wo.pk,
            "applied": False,
            "changed": ["status"],
            "order_change": ticket.number,
        }
    wo = services.cancel_work_order(
        wo, actor=actor, reason=_("Cancelled in the ERP") + f" ({reason})"
    )
    services.record_erp_version(wo, data["erp_version"], actor=actor, reason=reason)
    return {"status": UPDATED, "id": wo.pk, "applied": True, "changed": ["status"]}


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


# --- master data: items, work centers, supplier lots ----------------------------------------


class ItemIn(serializers.Serializer):
    code = serializers.CharField(max_length=60)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=ItemKind.choices)
    unit = serializers.ChoiceField(choices=Unit.choices, required=False, default=Unit.PCS)
    requires_certificate = serializers.BooleanField(required=False, default=False)
    is_active = serializers.BooleanField(required=False, default=True)


class WorkCenterIn(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    site = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(
        choices=WorkCenterKind.choices, required=False, default=WorkCenterKind.OTHER
    )
    is_active = serializers.BooleanField(required=False, default=True)


class LotIn(serializers.Serializer):
    number = serializers.CharField(max_length=64)
    site = serializers.CharField(max_length=20)
    item = serializers.CharField(max_length=60)
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0)
    supplier = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    certificate = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, allow_null=True
    )
    received = serializers.DateTimeField(required=False, allow_null=True, default=None)


@dataclass
class MasterLookups:
    sites: dict[str, Site] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    existing: dict[Any, Any] = field(default_factory=dict)


def _codes(records: list, key: str) -> set[str]:
    return {r[key] for r in records if isinstance(r, dict) and isinstance(r.get(key), str)}


def _item_lookups(records: list) -> MasterLookups:
    return MasterLookups(
        existing={i.code: i for i in Item.objects.filter(code__in=_codes(records, "code"))}
    )


def _work_center_lookups(records: list) -> MasterLookups:
    sites = {s.code: s for s in Site.objects.filter(code__in=_codes(records, "site"))}
    existing = WorkCenter.objects.filter(code__in=_codes(records, "code"), site__in=sites.values())
    return MasterLookups(sites=sites, existing={(wc.site_id, wc.code): wc for wc in existing})


def _lot_lookups(records: list) -> MasterLookups:
    sites = {s.code: s for s in Site.objects.filter(code__in=_codes(records, "site"))}
    items = {i.code: i for i in Item.objects.filter(code__in=_codes(records, "item"))}
    existing = Lot.objects.filter(number__in=_codes(records, "number"), site__in=sites.values())
    return MasterLookups(
        sites=sites, items=items, existing={(lot.site_id, lot.number): lot for lot in existing}
    )


def _upsert(obj, values: dict, actor, reason: str, created: bool) -> dict:
    """Set ``values`` on ``obj`` and save it through the master-data service if anything
    changed: ``created``, ``updated`` (with ``changed``) or ``unchanged``."""
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if not created and not changed:
        return {"status": UNCHANGED, "id": obj.pk}
    for name, value in values.items():
        setattr(obj, name, value)
    services.save_master_record(obj, actor=actor, reason=reason)
    if created:
        return {"status": CREATED, "id": obj.pk}
    return {"status": UPDATED, "id": obj.pk, "changed": changed}


def _apply_item(data: dict, actor, lookups: MasterLookups) -> dict:
    existing = lookups.existing.get(data["code"])
    item = existing or Item(code=data["code"])
    values = {k: v for k, v in data.items() if k != "code"}
    result = _upsert(item, values, actor, _("from the ERP"), existing is None)
    lookups.existing[item.code] = item
    return result


def _apply_work_center(data: dict, actor, lookups: MasterLookups) -> dict:
    site = _site(lookups, data["site"])
    existing = lookups.existing.get((site.pk, data["code"]))
    wc = existing or WorkCenter(site=site, code=data["code"])
    values = {k: v for k, v in data.items() if k not in ("code", "site")}
    result = _upsert(wc, values, actor, _("from the ERP"), existing is None)
    lookups.existing[(site.pk, wc.code)] = wc
    return result


def _apply_lot(data: dict, actor, lookups: MasterLookups) -> dict:
    """A supplier lot is received once; later records may complete its supplier or
    certificate, never its quantity on hand (the floor consumes it) nor its item."""
    site = _site(lookups, data["site"])
    item = _item(lookups, data["item"])
    certificate = data["certificate"] or ""
    lot = lookups.existing.get((site.pk, data["number"]))
    if lot is None:
        lot = services.receive_lot(
            site=site,
            number=data["number"],
            item=item,
            quantity=data["quantity"],
            supplier=data["supplier"],
            certificate=certificate,
            received_at=data["received"],
            actor=actor,
            reason=_("from the ERP"),
        )
        lookups.existing[(site.pk, lot.number)] = lot
        return {"status": CREATED, "id": lot.pk}
    if lot.item_id != item.pk:
        raise DomainError(
            _("Lot %(lot)s is of item %(item)s.") % {"lot": lot.number, "item": lot.item.code},
            code="lot_conflict",
            fields={"item": [_("Another item than the lot's.")]},
        )
    values = {"supplier": data["supplier"], "certificate": certificate}
    return _upsert(lot, values, actor, _("from the ERP"), created=False)


_validators = threading.local()


@dataclass(frozen=True)
class BatchKind:
    """One kind of record the ERP sends in batches: its key, shape, lookups and upsert."""

    key: str
    serializer: type[serializers.Serializer]
    lookups: Callable[[list], Any]
    apply: Callable[[dict, Any, Any], dict]

    def validate(self, record) -> dict:
        """The record's validated data, or ``ValidationError`` with field errors. One
        serializer instance per kind and thread: DRF builds (deep-copies) a serializer's
        fields per instance, which cost more than the validation itself."""
        validator = getattr(_validators, self.key + self.serializer.__name__, None)
        if validator is None:
            validator = self.serializer()
            setattr(_validators, self.key + self.serializer.__name__, validator)
        return validator.run_validation(record)


KINDS: dict[str, BatchKind] = {
    "orders": BatchKind("erp_number", WorkOrderIn, Lookups.for_orders, _apply_order),
    "items": BatchKind("code", ItemIn, _item_lookups, _apply_item),
    "work_centers": BatchKind("code", WorkCenterIn, _work_center_lookups, _apply_work_center),
    "lots": BatchKind("number", LotIn, _lot_lookups, _apply_lot),
}
