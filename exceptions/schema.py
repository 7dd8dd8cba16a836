"""Exception forms: standard JSON Schema (a subset) that the admin edits, the floor renders and
the server enforces (always, whatever the client), and that any JSON Schema tool can read.

Allowed: an object whose ``properties`` each are of a registered field type
(:mod:`exceptions.fields`: ``{"type": "string"}``, ``number``, ``integer``, ``boolean``,
``{"type": "string", "format": "date"}``, ``{"type": "string", "format": "date-time"}``) with
optional ``title``, ``description``, ``enum``, ``minimum``, ``maximum``, ``minLength``,
``maxLength``, ``default``; a ``required`` list; and ``order``, the fields in display order
(PostgreSQL's jsonb does not keep key order, so it is filled in from the properties as typed
when a type is saved; JSON Schema tools ignore it). Unknown fields in submitted data are
refused.
"""

from __future__ import annotations

import datetime
import json

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
}
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
    order = [n for n in _names(schema.get("order")) if n in properties]
    names = order + [n for n in properties if n not in order]
    return [
        (name, properties[name], _field_type(properties[name]), name in required) for name in names
    ]


def _names(value) -> list[str]:
    """The field names a list gives (anything else in it is not a name)."""
    return [n for n in value if isinstance(n, str)] if isinstance(value, list) else []


def with_field_order(schema: dict) -> dict:
    """``schema`` with ``order`` listing every field (kept where given, else as typed)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return schema
    return {**schema, "order": [name for name, *_rest in fields(schema)]}


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


def to_json_schema(schema: dict) -> dict:
    """The schema a submission is validated against: the stored one, closed to unknown
    fields."""
    return {
        "type": "object",
        "properties": {name: spec for name, spec, _t, _r in fields(schema)},
        "required": list(schema.get("required") or []),
        "additionalProperties": False,
    }


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
    labels = {name: spec.get("title", name) for name, spec, _t, _r in fields(schema)}
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
    return errors


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
