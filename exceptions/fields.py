"""Form field types of exception forms: how each is written in standard JSON Schema, how an
HTML form value becomes its JSON value, and which Django form field the floor page shows.

A field's type is found from its JSON Schema: ``{"type": "string", "format": "date"}`` is a
``date``, ``{"type": "integer"}`` an ``integer``. Adding a type (a later capability)::

    from exceptions.fields import FieldType, field_types

    field_types.register("time", FieldType(label=..., schema={"type": "string",
                         "format": "time"}, coerce=..., form_field=...))
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.registry import Registry


@dataclass(frozen=True)
class FieldType:
    label: str
    schema: dict  # the JSON Schema keywords that make a field this type
    coerce: Callable[[str], object]  # an HTML form string -> the JSON value (ValueError: keep)
    form_field: Callable[[dict, dict], forms.Field]  # (spec, common kwargs) -> Django field


field_types: Registry[FieldType] = Registry(
    "form field types", "Types a field of an exception form can have (JSON Schema)."
)


def field_type_of(spec: dict) -> str:
    """The registered type whose schema keywords ``spec`` carries (most specific first),
    or "" when none matches."""
    best, best_size = "", -1
    for name, ftype in field_types.items():
        if all(spec.get(k) == v for k, v in ftype.schema.items()) and len(ftype.schema) > best_size:
            best, best_size = name, len(ftype.schema)
    return best


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _text(spec: dict, common: dict) -> forms.Field:
    return forms.CharField(
        min_length=spec.get("minLength"),
        max_length=spec.get("maxLength"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        **common,
    )


def _number(spec: dict, common: dict) -> forms.Field:
    return forms.DecimalField(
        min_value=_decimal(spec.get("minimum")),
        max_value=_decimal(spec.get("maximum")),
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
        **common,
    )


def _integer(spec: dict, common: dict) -> forms.Field:
    return forms.IntegerField(
        min_value=spec.get("minimum"),
        max_value=spec.get("maximum"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1"}),
        **common,
    )


def _boolean(spec: dict, common: dict) -> forms.Field:
    return forms.BooleanField(**{**common, "required": False})


def _date(spec: dict, common: dict) -> forms.Field:
    return forms.DateField(widget=DateInput(), input_formats=["%Y-%m-%d"], **common)


def _date_time(spec: dict, common: dict) -> forms.Field:
    return forms.DateTimeField(
        widget=DateTimeInput(), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], **common
    )


def _coerce_date_time(raw: str) -> str:
    """An ISO moment; one without an offset (a ``datetime-local`` input) is in the current
    time zone."""
    moment = datetime.datetime.fromisoformat(str(raw))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.isoformat()


field_types.register("string", FieldType(_("Text"), {"type": "string"}, str, _text))
field_types.register(
    "number",
    FieldType(
        _("Number"), {"type": "number"}, lambda raw: float(str(raw).replace(",", ".")), _number
    ),
)
field_types.register("integer", FieldType(_("Whole number"), {"type": "integer"}, int, _integer))
field_types.register(
    "boolean",
    FieldType(
        _("Yes / no"),
        {"type": "boolean"},
        lambda raw: str(raw).lower() in ("1", "true", "on", "yes"),
        _boolean,
    ),
)
field_types.register(
    "date",
    FieldType(
        _("Date"),
        {"type": "string", "format": "date"},
        lambda raw: datetime.date.fromisoformat(str(raw)).isoformat(),
        _date,
    ),
)
field_types.register(
    "date-time",
    FieldType(
        _("Date and time"),
        {"type": "string", "format": "date-time"},
        _coerce_date_time,
        _date_time,
    ),
)
