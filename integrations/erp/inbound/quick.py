"""A work-order record of the usual shape validated without the serializer's machinery.

DRF's nested serializer spends ~0.4 ms on an order with five operations (field objects,
validators and empty-value checks for each of ~35 values): most of an ERP batch's Python. For
a record every value of which has the plain type the ERP sends (text as ``str``, integers as
``int``, numbers as ``int``/``float``/``str``, dates as ``YYYY-MM-DD``), :func:`quick_order`
gives exactly what :class:`~.records.WorkOrderIn` would: numbers and dates go through the
serializer's own fields (memoized: a batch repeats them), strings and integers are checked
here, the serializer's ``validate_quantity`` and ``validate`` run as they are. Anything else
(another type, a value out of range, anything the serializer would refuse) returns None and
the serializer decides, with its messages. ``tests/integrations/test_erp_quick.py`` holds it
to the serializer on generated records. The record has passed :func:`~.screen` (no NUL or
lone surrogate anywhere in it).
"""

from __future__ import annotations

from datetime import date

from rest_framework import serializers

from .batch import CANCELLED

_MISSING = object()
_STATUSES = frozenset({"active", CANCELLED})


class _Numbers:
    """The serializer's own conversion of a number or date, once per distinct value."""

    def __init__(self, field):
        self.field = field
        self.known: dict = {}

    def __call__(self, value):
        kind = type(value)
        if kind is bool or kind not in (int, float, str):
            return _MISSING
        key = (kind, value) if kind is not float else (kind, repr(value))
        found = self.known.get(key)
        if found is None:
            try:
                found = self.field.run_validation(value)
            except serializers.ValidationError:
                found = _MISSING
            if len(self.known) < 10_000:
                self.known[key] = found
        return found


def _text(value, max_length: int):
    """A CharField's value (trimmed, not blank, not too long), or _MISSING."""
    if type(value) is not str:
        return _MISSING
    value = value.strip()
    if not value or len(value) > max_length:
        return _MISSING
    return value


def _integer(value, low: int, high: int):
    if type(value) is not int or not low <= value <= high:
        return _MISSING
    return value


class QuickOrders:
    """:func:`quick_order` bound to one serializer instance (one per thread, as the batch's)."""

    def __init__(self, serializer):
        self.serializer = serializer
        fields = serializer.fields
        op = fields["operations"].child.fields
        self.sequence = (op["sequence"].min_value, op["sequence"].max_value)
        self.version = (fields["erp_version"].min_value, fields["erp_version"].max_value)
        self.quantity = _Numbers(fields["quantity"])
        self.setup = _Numbers(op["setup_minutes"])
        self.run = _Numbers(op["run_minutes_per_unit"])
        self.component_quantity = _Numbers(fields["components"].child.fields["quantity"])
        self.due_date = _Numbers(fields["due_date"])
        self.reference_length = fields["reference"].max_length
        self.description_length = op["description"].max_length
        self.lengths = {
            "erp_number": fields["erp_number"].max_length,
            "site": fields["site"].max_length,
            "item": fields["item"].max_length,
            "work_center": op["work_center"].max_length,
            "component_item": fields["components"].child.fields["item"].max_length,
        }

    def __call__(self, record: dict) -> dict | None:
        if type(record) is not dict:
            return None
        got = record.get
        lengths = self.lengths
        data = {
            "erp_number": _text(got("erp_number"), lengths["erp_number"]),
            "site": _text(got("site"), lengths["site"]),
            "item": _text(got("item"), lengths["item"]),
            "quantity": self.quantity(got("quantity")),
            "due_date": self._date(got("due_date")),
            "erp_version": _integer(got("erp_version"), *self.version),
        }
        if _MISSING in data.values():
            return None
        status = got("status", _MISSING)
        if status is not _MISSING:
            if type(status) is not str or status not in _STATUSES:
                return None
            data["status"] = status
        reference = got("reference", _MISSING)
        if reference is not _MISSING:
            if reference is not None and (
                type(reference) is not str or len(reference) > self.reference_length
            ):
                return None
            data["reference"] = reference
        operations = self._operations(got("operations", []))
        components = self._components(got("components", []))
        if operations is None or components is None:
            return None
        data["operations"], data["components"] = operations, components
        try:
            data["quantity"] = self.serializer.validate_quantity(data["quantity"])
            return self.serializer.validate(data)
        except serializers.ValidationError:
            return None

    def _date(self, value):
        if type(value) is not str or len(value) != 10:
            return _MISSING
        found = self.due_date(value)
        return found if type(found) is date else _MISSING

    def _operations(self, operations) -> list | None:
        if type(operations) is not list:
            return None
        done = []
        for op in operations:
            if type(op) is not dict:
                return None
            got = op.get
            description = got("description", _MISSING)
            if description is _MISSING:
                description = ""
            else:
                description = _text(description, self.description_length)
            value = {
                "sequence": _integer(got("sequence"), *self.sequence),
                "work_center": _text(got("work_center"), self.lengths["work_center"]),
                "setup_minutes": self.setup(got("setup_minutes")),
                "run_minutes_per_unit": self.run(got("run_minutes_per_unit")),
                "description": description,
            }
            if _MISSING in value.values():
                return None
            done.append(value)
        return done

    def _components(self, components) -> list | None:
        if type(components) is not list:
            return None
        done = []
        for component in components:
            if type(component) is not dict:
                return None
            value = {
                "item": _text(component.get("item"), self.lengths["component_item"]),
                "quantity": self.component_quantity(component.get("quantity")),
            }
            if _MISSING in value.values():
                return None
            done.append(value)
        return done
