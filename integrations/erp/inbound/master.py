"""Master data from the ERP: items, work centers and supplier lots, upserted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from mes import services
from mes.errors import DomainError
from mes.models import Item, Lot, Site, WorkCenter

from .batch import CREATED, UNCHANGED, UPDATED
from .orders import known_item, known_site


@dataclass
class MasterLookups:
    sites: dict[str, Site] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    existing: dict[Any, Any] = field(default_factory=dict)


def _codes(records: list, key: str) -> set[str]:
    return {r[key] for r in records if isinstance(r, dict) and isinstance(r.get(key), str)}


def item_lookups(records: list) -> MasterLookups:
    return MasterLookups(
        existing={i.code: i for i in Item.objects.filter(code__in=_codes(records, "code"))}
    )


def work_center_lookups(records: list) -> MasterLookups:
    sites = {s.code: s for s in Site.objects.filter(code__in=_codes(records, "site"))}
    existing = WorkCenter.objects.filter(code__in=_codes(records, "code"), site__in=sites.values())
    return MasterLookups(sites=sites, existing={(wc.site_id, wc.code): wc for wc in existing})


def lot_lookups(records: list) -> MasterLookups:
    sites = {s.code: s for s in Site.objects.filter(code__in=_codes(records, "site"))}
    items = {i.code: i for i in Item.objects.filter(code__in=_codes(records, "item"))}
    existing = Lot.objects.filter(
        number__in=_codes(records, "number"), site__in=sites.values()
    ).select_related("item")
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


def apply_item(data: dict, actor, lookups: MasterLookups) -> dict:
    existing = lookups.existing.get(data["code"])
    item = existing or Item(code=data["code"])
    values = {k: v for k, v in data.items() if k != "code"}
    result = _upsert(item, values, actor, _("from the ERP"), existing is None)
    lookups.existing[item.code] = item
    return result


def apply_work_center(data: dict, actor, lookups: MasterLookups) -> dict:
    site = known_site(lookups, data["site"])
    existing = lookups.existing.get((site.pk, data["code"]))
    wc = existing or WorkCenter(site=site, code=data["code"])
    values = {k: v for k, v in data.items() if k not in ("code", "site")}
    result = _upsert(wc, values, actor, _("from the ERP"), existing is None)
    lookups.existing[(site.pk, wc.code)] = wc
    return result


def apply_lot(data: dict, actor, lookups: MasterLookups) -> dict:
    """A supplier lot is received once; later records may complete its supplier or
    certificate, never its quantity on hand (the floor consumes it) nor its item."""
    site = known_site(lookups, data["site"])
    item = known_item(lookups, data["item"])
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
        return _flagged({"status": CREATED, "id": lot.pk}, lot)
    if lot.item_id != item.pk:
        raise DomainError(
            _("Lot %(lot)s is of item %(item)s.") % {"lot": lot.number, "item": lot.item.code},
            code="lot_conflict",
            fields={"item": [_("Another item than the lot's.")]},
        )
    values = {"supplier": data["supplier"], "certificate": certificate}
    return _flagged(_upsert(lot, values, actor, _("from the ERP"), created=False), lot)


def _flagged(result: dict, lot) -> dict:
    """The batch's answer says what the lot lacks (accepted all the same)."""
    if lot.certificate_missing:
        result["flags"] = ["certificate_missing"]
    return result
