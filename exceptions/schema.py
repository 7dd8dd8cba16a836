"""Exception forms: standard JSON Schema (a subset) that the admin edits, the floor renders and
the server enforces (always, whatever the client), and that any JSON Schema tool can read.

Allowed: an object whose ``properties`` each are of a registered field type
(:mod:`exceptions.fields`: ``{"type": "string"}``, ``number``, ``integer``, ``boolean``,
``{"type": "string", "format": "date"}``, ``{"type": "string", "format": "date-time"}``, a
choice ``{"type": "string", "enum": [...]}``, several choices ``{"type": "array", "items":
{"type": "string", "enum": [...]}, "uniqueItems": true}``, long text ``{"type": "string",
"x-widget": "textarea"}``) with optional ``title``, ``description``, ``enum``, ``minimum``,
``maximum``, ``minLength``, ``maxLength``, ``default``; a ``required`` list; and ``order``, the
fields in display order (PostgreSQL's jsonb does not keep key order, so it is filled in from the
properties as typed when a type is saved; JSON Schema tools ignore it). Unknown fields in
submitted data are refused.

Andon's own annotations (``x-``: JSON Schema tools ignore them): ``x-unit`` (a number's unit,
shown beside the input), ``x-decimals`` (at most that many decimals, enforced), and
``x-show-if`` ``{"field": "photo_taken", "equals": true}``: the field is shown, and required if
listed in ``required``, only while an earlier field has that value (validated as a JSON Schema
``if``/``then``).

Saved schemas are canonical (:func:`canonical_schema`), so the same form typed as JSON or built
in the admin's form builder is stored identically.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from .fields import field_type_of, field_types

FIELD_KEYWORDS = {
    "type",
    "title",
    "description",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "default",
    "format",
    "items",
    "uniqueItems",
    "x-widget",
    "x-unit",
    "x-decimals",
    "x-show-if",
    "x-picker",
    "x-title-i18n",
}
SHOW_IF = "x-show-if"
TITLES = "x-title-i18n"  # {"pl": "Nr wózka", "de": "Staplernummer"}: the label per language
PICKER_TYPES = ("work-order", "lot", "machine", "item")  # exceptions.fields, x-picker
MAX_DECIMALS = 6
MAX_FIELDS = 100  # a form the floor fills in on a phone; more is a mistake (or an attack)
SCHEMA_KEYWORDS = {"type", "properties", "required", "title", "description", "order"}


def _field_type(spec: dict) -> str:
    return field_type_of(spec)


def type_help() -> str:
    """The registered field types as their JSON Schema, for messages and help texts."""
    return ", ".join(f"{name} {json.dumps(ftype.schema)}" for name, ftype in field_types.items())


def fields(schema: dict | None) -> list[tuple[str, dict, str, bool]]:
    """``(name, spec, type, required)`` for each field, in schema order."""
    schema = schema or {}
    required = {r for r in _names(schema.get("required"))}
    properties = schema.get("properties") or {}
    return [
        (name, properties[name], _field_type(properties[name]), name in required)
        for name in _position(schema)
    ]


def _names(value) -> list[str]:
    """The field names a list gives (anything else in it is not a name)."""
    return [n for n in value if isinstance(n, str)] if isinstance(value, list) else []


def canonical_schema(schema: dict) -> dict:
    """``schema`` as it is stored: ``"type": "object"``, ``order`` listing every field (kept
    where given, else as typed), ``required`` in that order (left out when empty)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return schema
    names = [name for name, *_rest in fields(schema)]
    required = set(_names(schema.get("required")))
    canonical = {k: v for k, v in schema.items() if k not in ("type", "required", "order")}
    canonical["type"] = "object"
    if required:
        canonical["required"] = [name for name in names if name in required]
    canonical["order"] = names
    return canonical


def field_label(name: str, spec: dict, language: str | None = None) -> str:
    """The label of a field in ``language`` (default: the active one), else its title, else
    its name."""
    language = (language or get_language() or "").split("-")[0]
    titles = spec.get(TITLES) if isinstance(spec.get(TITLES), dict) else {}
    return str(titles.get(language) or spec.get("title") or name)


def show_if(spec: dict) -> dict | None:
    """A field's condition ``{"field": ..., "equals": ...}``, or None: always shown."""
    condition = spec.get(SHOW_IF) if isinstance(spec, dict) else None
    return condition if isinstance(condition, dict) else None


def same_value(actual, expected) -> bool:
    """Equal as JSON values: true is not 1, 2 is 2.0."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return actual == expected


def shown(spec: dict, data: dict) -> bool:
    """Is the field shown (asked for) with the form's other values ``data``?"""
    condition = show_if(spec)
    return condition is None or same_value(data.get(condition["field"]), condition["equals"])


def schema_problems(schema) -> list[str]:
    """What is wrong with a form schema (empty list: it is fine)."""
    if schema in (None, {}):
        return []
    if not isinstance(schema, dict):
        return [_("The form schema must be a JSON object.")]
    problems = []
    unknown = set(schema) - SCHEMA_KEYWORDS
    if unknown:
        problems.append(_("Unsupported keys: %(keys)s.") % {"keys": ", ".join(sorted(unknown))})
    if schema.get("type", "object") != "object":
        problems.append(_('The schema "type" must be "object".'))
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return [*problems, _('"properties" must be an object.')]
    if len(properties) > MAX_FIELDS:
        return [*problems, _("A form has at most %(n)s fields.") % {"n": MAX_FIELDS}]
    position = _position(schema)
    for name, spec in properties.items():
        if not isinstance(spec, dict):
            problems.append(_("Field %(f)s must be an object.") % {"f": name})
            continue
        if set(spec) - FIELD_KEYWORDS:
            problems.append(
                _("Field %(f)s uses unsupported keys: %(k)s.")
                % {"f": name, "k": ", ".join(sorted(set(spec) - FIELD_KEYWORDS))}
            )
        ftype = _field_type(spec)
        if spec.get("type") in ("date", "date-time"):
            problems.append(
                _(
                    'Field %(f)s: JSON Schema writes a %(t)s as {"type": "string", "format": '
                    '"%(t)s"}.'
                )
                % {"f": name, "t": spec["type"]}
            )
        elif not ftype or ("format" in spec and "format" not in field_types[ftype].schema):
            problems.append(
                _("Field %(f)s has type %(t)r; use one of %(types)s.")
                % {
                    "f": name,
                    "t": spec.get("type") + (f" ({spec['format']})" if "format" in spec else "")
                    if isinstance(spec.get("type"), str)
                    else spec.get("type"),
                    "types": type_help(),
                }
            )
        if "enum" in spec and (not isinstance(spec["enum"], list) or not spec["enum"]):
            problems.append(_("Field %(f)s: enum must be a non-empty list.") % {"f": name})
        elif "enum" in spec and len({json.dumps(v) for v in spec["enum"]}) != len(spec["enum"]):
            problems.append(_("Field %(f)s: the choices must differ.") % {"f": name})
        problems += _annotation_problems(name, spec, ftype, properties, position)
    order = schema.get("order", [])
    if (
        not isinstance(order, list)
        or _names(order) != order
        or any(n not in properties for n in order)
    ):
        problems.append(_('"order" must list fields that exist.'))
    required = schema.get("required", [])
    if (
        not isinstance(required, list)
        or _names(required) != required
        or any(r not in properties for r in required)
    ):
        problems.append(_('"required" must list fields that exist.'))
    if not problems:
        try:
            Draft202012Validator.check_schema(to_json_schema(schema))
        except SchemaError as exc:
            problems.append(str(exc.message))
    return problems


def _position(schema: dict) -> dict[str, int]:
    properties = schema.get("properties") or {}
    order = list(dict.fromkeys(n for n in _names(schema.get("order")) if n in properties))
    listed = set(order)
    names = order + [n for n in properties if n not in listed]
    return {name: i for i, name in enumerate(names)}


def _annotation_problems(name, spec, ftype, properties, position) -> list[str]:
    """What is wrong with a field's choices of several, unit, decimals, widget and show-if."""
    problems, f = [], {"f": name}
    if spec.get("type") == "array" and "items" in spec:
        items = spec["items"]
        values = items.get("enum") if isinstance(items, dict) else None
        if (
            set(items if isinstance(items, dict) else ()) != {"type", "enum"}
            or items.get("type") != "string"
            or not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and v for v in values)
        ):
            problems.append(
                _(
                    'Field %(f)s: several choices are {"type": "array", "items": {"type": '
                    '"string", "enum": ["a", "b"]}, "uniqueItems": true}.'
                )
                % f
            )
        elif len(set(values)) != len(values):
            problems.append(_("Field %(f)s: the choices must differ.") % f)
    if "uniqueItems" in spec and (spec.get("type") != "array" or spec["uniqueItems"] is not True):
        problems.append(_("Field %(f)s: uniqueItems is true, on several choices only.") % f)
    if "x-widget" in spec and (spec["x-widget"] != "textarea" or spec.get("type") != "string"):
        problems.append(_('Field %(f)s: x-widget is "textarea", on text only.') % f)
    unit = spec.get("x-unit")
    if "x-unit" in spec and (
        not isinstance(unit, str) or not 0 < len(unit) <= 20 or ftype not in ("number", "integer")
    ):
        problems.append(_("Field %(f)s: a unit (up to 20 characters) is for numbers.") % f)
    decimals = spec.get("x-decimals")
    if "x-decimals" in spec and (
        isinstance(decimals, bool)
        or not isinstance(decimals, int)
        or not 0 <= decimals <= MAX_DECIMALS
        or ftype != "number"
    ):
        problems.append(
            _("Field %(f)s: decimals (0 to %(n)s) are for numbers.") % {**f, "n": MAX_DECIMALS}
        )
    if "x-picker" in spec and ftype not in PICKER_TYPES:
        problems.append(_("Field %(f)s: x-picker is work_order, lot, machine or item.") % f)
    if TITLES in spec:
        titles, languages = spec[TITLES], {code for code, _name in settings.LANGUAGES}
        if (
            not isinstance(titles, dict)
            or set(titles) - languages
            or not all(isinstance(t, str) and 0 < len(t) <= 200 for t in titles.values())
        ):
            problems.append(
                _("Field %(f)s: labels per language are {code: label} of %(codes)s.")
                % {**f, "codes": ", ".join(sorted(languages))}
            )
    if SHOW_IF in spec:
        problems += _show_if_problems(name, spec[SHOW_IF], properties, position)
    return problems


def _show_if_problems(name, condition, properties, position) -> list[str]:
    f = {"f": name}
    if not isinstance(condition, dict) or set(condition) != {"field", "equals"}:
        return [_('Field %(f)s: show-if is {"field": ..., "equals": ...}.') % f]
    other = condition["field"]
    controller = properties.get(other) if isinstance(other, str) else None
    if not isinstance(controller, dict) or other == name:
        return [_("Field %(f)s is shown depending on a field the form does not have.") % f]
    if position.get(other, 0) > position.get(name, 0):
        return [_("Field %(f)s depends on %(o)s, which must come before it.") % {**f, "o": other}]
    kind, value = field_type_of(controller), condition["equals"]
    if SHOW_IF in controller:
        return [
            _("Field %(f)s depends on %(o)s, which is itself shown only sometimes.")
            % {**f, "o": other}
        ]
    if kind == "multi-choice":
        return [_("Field %(f)s: a field of several choices cannot decide what is shown.") % f]
    if isinstance(controller.get("enum"), list):
        fits = any(same_value(value, v) for v in controller["enum"])
    elif kind == "boolean":
        fits = isinstance(value, bool)
    elif kind in ("number", "integer"):
        fits = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        fits = isinstance(value, str)
    if not fits:
        return [
            _("Field %(f)s is shown when %(o)s is %(v)s, a value %(o)s never has.")
            % {**f, "o": other, "v": json.dumps(value)}
        ]
    return []


def to_json_schema(schema: dict) -> dict:
    """The schema a submission is validated against: the stored one, closed to unknown
    fields; a required field with a show-if is required only while it is shown."""
    properties = {name: spec for name, spec, _t, _r in fields(schema)}
    required = [r for r in schema.get("required") or [] if r in properties]
    result = {
        "type": "object",
        "properties": properties,
        "required": [r for r in required if show_if(properties[r]) is None],
        "additionalProperties": False,
    }
    conditional = [
        {
            "if": {
                "properties": {c["field"]: {"const": c["equals"]}},
                "required": [c["field"]],
            },
            "then": {"required": [name]},
        }
        for name in required
        if (c := show_if(properties[name])) is not None
    ]
    if conditional:
        result["allOf"] = conditional
    return result


FORMATS = FormatChecker(formats=["date"])


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value) -> bool:
    """RFC 3339: a date, a time and an offset (jsonschema checks it only with an extra
    package)."""
    if not isinstance(value, str):
        return True
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.tzinfo is not None and "T" in value.upper()


def validate_data(schema: dict | None, data) -> dict[str, list[str]]:
    """Field name -> error messages for ``data`` against ``schema`` (empty dict: valid)."""
    if not isinstance(data, dict):
        return {"data": [_("The form data must be a JSON object.")]}
    if not schema:
        return {}
    validator = Draft202012Validator(to_json_schema(schema), format_checker=FORMATS)
    errors: dict[str, list[str]] = {}
    labels = {name: field_label(name, spec) for name, spec, _t, _r in fields(schema)}
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
        if error.validator == "required":
            name = error.message.split("'")[1]
            message = _("%(label)s is required.") % {"label": labels.get(name, name)}
        elif error.validator == "additionalProperties":
            for name in sorted(set(data) - set(labels)):
                errors.setdefault(name, []).append(_("Unknown field."))
            continue
        else:
            name = str(error.path[0]) if error.path else "data"
            message = _message(error, labels.get(name, name))
        errors.setdefault(name, []).append(message)
    for name, spec, _t, _r in fields(schema):
        places = spec.get("x-decimals")
        value = data.get(name)
        if name in errors or not isinstance(places, int) or isinstance(value, bool):
            continue
        if isinstance(value, int | float) and _decimals(value) > places:
            errors[name] = [
                _("%(label)s takes at most %(n)s decimals.") % {"label": labels[name], "n": places}
            ]
    return errors


def _decimals(value: float) -> int:
    exponent = Decimal(str(value)).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _message(error, label: str) -> str:
    v = error.validator
    if v == "type":
        return _("%(label)s must be of type %(type)s.") % {
            "label": label,
            "type": error.validator_value,
        }
    if v == "enum":
        return _("%(label)s must be one of: %(choices)s.") % {
            "label": label,
            "choices": ", ".join(map(str, error.validator_value)),
        }
    if v == "minimum":
        return _("%(label)s must be at least %(n)s.") % {"label": label, "n": error.validator_value}
    if v == "maximum":
        return _("%(label)s must be at most %(n)s.") % {"label": label, "n": error.validator_value}
    if v == "minLength":
        return _("%(label)s is too short.") % {"label": label}
    if v == "maxLength":
        return _("%(label)s is too long.") % {"label": label}
    if v == "format" and error.validator_value == "date-time":
        return _(
            "%(label)s must be a date and time with its offset (2026-07-02T10:30:00+02:00)."
        ) % {"label": label}
    if v == "format":
        return _("%(label)s must be a date (YYYY-MM-DD).") % {"label": label}
    return f"{label}: {error.message}"


def coerce_form_values(schema: dict | None, values: dict) -> dict:
    """Turn HTML form strings into the JSON types the schema asks for (floor pages).

    Values that do not convert are left as strings, so validation names the field.
    """
    result = {}
    for name, _spec, ftype, _required in fields(schema):
        raw = values.get(name)
        if raw in (None, ""):
            if ftype == "boolean":
                result[name] = False
            continue
        coerce = field_types[ftype].coerce if ftype in field_types else str
        try:
            result[name] = coerce(raw)
        except ValueError:
            result[name] = str(raw)
    return result
