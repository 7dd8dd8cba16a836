"""Records are addressed by their codes and ERP numbers (``P1``, ``ZP/2026/07/0001``), not ids.

Codes are unique per site; when two sites share one, the caller adds ``site=<code>``.
A purely numeric value that names no record by code is tried as a database id.
"""

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from mes.errors import InvalidInput
from mes.models import Item, Lot, Machine, Shipment, Site, WorkCenter, WorkOrder

NATURAL_KEY = {
    Site: "code",
    WorkCenter: "code",
    Machine: "code",
    Item: "code",
    WorkOrder: "erp_number",
    Lot: "number",
    Shipment: "number",
}


def find(queryset, value, *, site: str | None = None):
    """The one record of ``queryset`` named by ``value``; None if none; InvalidInput if two."""
    value = str(value).strip()
    model = queryset.model
    key = NATURAL_KEY.get(model)
    matches = queryset
    if site and model is not Site:
        matches = matches.filter(**{f"{model.site_path}__code": site})
    if key:
        found = list(matches.filter(**{key: value})[:2])
        if len(found) == 2:
            raise InvalidInput(
                _("%(value)s exists at more than one site; add site=<code>.") % {"value": value},
                code="ambiguous_lookup",
            )
        if found:
            return found[0]
    if value.isascii() and value.isdigit():
        return matches.filter(pk=int(value)).first()
    return None


def resolve(queryset, value, *, field: str, site: str | None = None):
    """``find`` for serializers: an unknown value is a 400 naming the field."""
    obj = find(queryset, value, site=site)
    if obj is None:
        raise serializers.ValidationError(
            {field: [_("Unknown %(field)s: %(value)s.") % {"field": field, "value": value}]},
            code=f"unknown_{field}",
        )
    return obj


def get_or_404(queryset, value, *, site: str | None = None):
    obj = find(queryset, value, site=site)
    if obj is None:
        raise NotFound(_("Not found."))
    return obj
