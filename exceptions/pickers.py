"""Form fields that name a record of the plant: a work order, lot or machine of the ticket's
site, or an item (shared by all sites). Stored as the record's code (``{"type": "string",
"x-picker": "work_order"}``); the floor offers the site's records as suggestions, and a raise
naming one the site does not have is refused on that field."""

from __future__ import annotations

from django.utils.translation import gettext as _

from mes.models import Item, Lot, Machine, WorkOrder

from .schema import field_label

PICKER = "x-picker"
SUGGESTIONS = 200  # offered on the floor; any other of the site's records may be typed

# picker -> (model, the field holding its code, scoped to the site)
PICKERS = {
    "work_order": (WorkOrder, "erp_number", True),
    "lot": (Lot, "number", True),
    "machine": (Machine, "code", True),
    "item": (Item, "code", False),
}


def picker_of(spec: dict) -> str | None:
    name = spec.get(PICKER) if isinstance(spec, dict) else None
    return name if name in PICKERS else None


def _records(picker: str, site):
    model, code, scoped = PICKERS[picker]
    records = model.objects.all()
    if scoped:
        records = records.filter(site=site) if site is not None else records.none()
    return records, code


def picker_errors(fields, data: dict, site) -> dict[str, list[str]]:
    """Field name -> errors for values that name no record of ``site`` (``fields``: the
    schema's ``(name, spec, type, required)``)."""
    errors = {}
    for name, spec, _kind, _required in fields:
        picker = picker_of(spec)
        value = data.get(name)
        if picker is None or not isinstance(value, str) or not value:
            continue
        records, code = _records(picker, site)
        if not records.filter(**{code: value}).exists():
            label = field_label(name, spec)
            errors[name] = [_("%(label)s: no %(value)s here.") % {"label": label, "value": value}]
    return errors


def suggestions(spec: dict, site) -> list[str]:
    picker = picker_of(spec)
    if picker is None:
        return []
    records, code = _records(picker, site)
    return list(records.order_by("-pk").values_list(code, flat=True)[:SUGGESTIONS])
