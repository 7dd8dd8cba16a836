"""Form field types of exception forms: how each is written in standard JSON Schema, how an
HTML form value becomes its JSON value, and which Django form field the floor page shows.

A field's type is found from its JSON Schema: ``{"type": "string", "format": "date"}`` is a
``date``, ``{"type": "integer"}`` an ``integer``, a string with an ``enum`` a ``choice`` (the
most specific match wins). ``settings`` are what the admin's form builder asks for besides
label, help text, required, default and show-if. Adding a type (a later capability)::

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

# What the form builder may ask of a field type (``FieldType.settings``).
SETTINGS = ("maxLength", "minimum", "maximum", "x-unit", "x-decimals", "options")
# Up to this many choices a choice is a column of big radio buttons; more become a select.
RADIO_LIMIT = 8


@dataclass(frozen=True)
class FieldType:
    label: str
    schema: dict  # the JSON Schema keywords that make a field this type
    coerce: Callable[[str], object]  # an HTML form string -> the JSON value (ValueError: keep)
    form_field: Callable[[dict, dict], forms.Field]  # (spec, common kwargs) -> Django field
    requires: tuple[str, ...] = ()  # keywords that must be present as well (a choice's enum)
    settings: tuple[str, ...] = ()  # of SETTINGS, what the form builder asks for
    has_default: bool = True  # the builder offers a default value

    def builder(self, name: str) -> dict:
        """What the admin's form builder needs to know of this type."""
        return {
            "name": name,
            "label": str(self.label),
            "schema": self.schema,
            "requires": list(self.requires),
            "settings": list(self.settings),
            "has_default": self.has_default,
        }


field_types: Registry[FieldType] = Registry(
    "form field types", "Types a field of an exception form can have (JSON Schema)."
)


def field_type_of(spec: dict) -> str:
    """The registered type whose schema keywords ``spec`` carries (most specific first),
    or "" when none matches."""
    best, best_size = "", -1
    for name, ftype in field_types.items():
        size = len(ftype.schema) + len(ftype.requires)
        if (
            all(spec.get(k) == v for k, v in ftype.schema.items())
            and all(k in spec for k in ftype.requires)
            and size > best_size
        ):
            best, best_size = name, size
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


def _long_text(spec: dict, common: dict) -> forms.Field:
    return forms.CharField(
        min_length=spec.get("minLength"),
        max_length=spec.get("maxLength"),
        widget=forms.Textarea(attrs={"rows": 3}),
        **common,
    )


def enum_field(spec: dict, common: dict) -> forms.Field:
    """One of the ``enum`` values (of any type): big radio buttons, or a select when many."""
    values = spec["enum"]
    choices = [(str(v), str(v)) for v in values]
    widget = forms.RadioSelect if len(choices) <= RADIO_LIMIT else forms.Select
    if widget is forms.Select or not common["required"]:
        choices = [("", "—"), *choices]
    return forms.TypedChoiceField(
        choices=choices,
        coerce=dict(zip([str(v) for v in values], values, strict=True)).__getitem__,
        empty_value=None,
        widget=widget,
        **common,
    )


def _multi_choice(spec: dict, common: dict) -> forms.Field:
    values = (spec.get("items") or {}).get("enum") or []
    return forms.MultipleChoiceField(
        choices=[(str(v), str(v)) for v in values], widget=forms.CheckboxSelectMultiple, **common
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


field_types.register(
    "string", FieldType(_("Text"), {"type": "string"}, str, _text, settings=("maxLength",))
)
field_types.register(
    "text",
    FieldType(
        _("Long text"),
        {"type": "string", "x-widget": "textarea"},
        str,
        _long_text,
        settings=("maxLength",),
    ),
)
field_types.register(
    "number",
    FieldType(
        _("Number"),
        {"type": "number"},
        lambda raw: float(str(raw).replace(",", ".")),
        _number,
        settings=("minimum", "maximum", "x-unit", "x-decimals"),
    ),
)
field_types.register(
    "integer",
    FieldType(
        _("Whole number"),
        {"type": "integer"},
        int,
        _integer,
        settings=("minimum", "maximum", "x-unit"),
    ),
)
field_types.register(
    "choice",
    FieldType(
        _("Choice"), {"type": "string"}, str, enum_field, requires=("enum",), settings=("options",)
    ),
)
field_types.register(
    "multi-choice",
    FieldType(
        _("Several choices"),
        {"type": "array"},
        lambda raw: [v for v in str(raw).split(",") if v],
        _multi_choice,
        requires=("items",),
        settings=("options",),
        has_default=False,
    ),
)
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


def _picker(spec: dict, common: dict) -> forms.Field:
    return forms.CharField(
        max_length=64, widget=forms.TextInput(attrs={"autocomplete": "off"}), **common
    )


for _name, _picker_key, _label in (
    ("work-order", "work_order", _("Work order of the site")),
    ("lot", "lot", _("Lot of the site")),
    ("machine", "machine", _("Machine of the site")),
    ("item", "item", _("Item")),
):
    field_types.register(
        _name,
        FieldType(
            _label,
            {"type": "string", "x-picker": _picker_key},
            str,
            _picker,
            has_default=False,
        ),
    )
