"""Exception forms: a JSON Schema subset that the admin edits, the floor renders and the server
enforces (always, whatever the client).

Allowed: an object whose ``properties`` each have ``type`` string, number, integer, boolean or
date (``{"type": "string", "format": "date"}`` is the same as ``"date"``), optional ``title``,
``description``, ``enum``, ``minimum``, ``maximum``, ``minLength``, ``maxLength``, ``default``;
a ``required`` list; and ``order``, the fields in display order (PostgreSQL's jsonb does not keep
key order, so it is filled in from the properties as typed when a type is saved). Unknown fields
in submitted data are refused.
"""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

FIELD_TYPES = {"string", "number", "integer", "boolean", "date"}
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
    if spec.get("type") == "string" and spec.get("format") == "date":
        return "date"
    return spec.get("type", "")


def fields(schema: dict | None) -> list[tuple[str, dict, str, bool]]:
    """``(name, spec, type, required)`` for each field, in schema order."""
    schema = schema or {}
    required = set(schema.get("required") or [])
    properties = schema.get("properties") or {}
    order = [n for n in schema.get("order") or [] if n in properties]
    names = order + [n for n in properties if n not in order]
    return [
        (name, properties[name], _field_type(properties[name]), name in required) for name in names
    ]


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
        if ftype not in FIELD_TYPES:
            problems.append(
                _("Field %(f)s has type %(t)r; use one of %(types)s.")
                % {"f": name, "t": spec.get("type"), "types": ", ".join(sorted(FIELD_TYPES))}
            )
        if "enum" in spec and (not isinstance(spec["enum"], list) or not spec["enum"]):
            problems.append(_("Field %(f)s: enum must be a non-empty list.") % {"f": name})
    order = schema.get("order", [])
    if not isinstance(order, list) or any(n not in properties for n in order):
        problems.append(_('"order" must list fields that exist.'))
    required = schema.get("required", [])
    if not isinstance(required, list) or any(r not in properties for r in required):
        problems.append(_('"required" must list fields that exist.'))
    if not problems:
        try:
            Draft202012Validator.check_schema(to_json_schema(schema))
        except SchemaError as exc:
            problems.append(str(exc.message))
    return problems


def to_json_schema(schema: dict) -> dict:
    """The stored subset as standard JSON Schema (``date`` becomes string + format date)."""
    properties = {}
    for name, spec, ftype, _required in fields(schema):
        spec = dict(spec)
        if ftype == "date":
            spec["type"], spec["format"] = "string", "date"
        properties[name] = spec
    return {
        "type": "object",
        "properties": properties,
        "required": list(schema.get("required") or []),
        "additionalProperties": False,
    }


def validate_data(schema: dict | None, data) -> dict[str, list[str]]:
    """Field name -> error messages for ``data`` against ``schema`` (empty dict: valid)."""
    if not isinstance(data, dict):
        return {"data": [_("The form data must be a JSON object.")]}
    if not schema:
        return {}
    validator = Draft202012Validator(to_json_schema(schema), format_checker=FormatChecker())
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
        try:
            if ftype == "integer":
                result[name] = int(raw)
            elif ftype == "number":
                result[name] = float(str(raw).replace(",", "."))
            elif ftype == "boolean":
                result[name] = str(raw).lower() in ("1", "true", "on", "yes")
            elif ftype == "date":
                result[name] = datetime.date.fromisoformat(str(raw)).isoformat()
            else:
                result[name] = str(raw)
        except ValueError:
            result[name] = str(raw)
    return result
