"""Domain errors raised by services. The API turns each into JSON ``{"code", "detail"}``."""

from __future__ import annotations

from rest_framework import exceptions


class DomainError(Exception):
    """A refused change. ``code`` is stable and documented; ``status`` is the HTTP answer."""

    status = 409
    code = "conflict"

    def __init__(self, detail: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidInput(DomainError):
    status = 400
    code = "invalid"


class NotPermitted(DomainError):
    status = 403
    code = "permission_denied"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class PreconditionFailed(DomainError):
    """The record changed since the caller read it (If-Match, ``expected_version``)."""

    status = 412
    code = "precondition_failed"


class TransitionNotAllowed(DomainError):
    status = 409
    code = "transition_not_allowed"


# DRF's own field codes; a serializer error with any other code names a domain rule.
_GENERIC_CODES = {
    "invalid",
    "required",
    "null",
    "blank",
    "min_value",
    "max_value",
    "max_length",
    "min_length",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
    "does_not_exist",
    "incorrect_type",
    "not_a_list",
    "not_a_dict",
    "empty",
    "invalid_choice",
    "date",
    "datetime",
    "unique",
    "max_string_length",
    "overflow",
}


def _first_code(codes):
    if isinstance(codes, dict):
        for value in codes.values():
            found = _first_code(value)
            if found:
                return found
    elif isinstance(codes, list):
        for value in codes:
            found = _first_code(value)
            if found:
                return found
    elif isinstance(codes, str):
        return codes
    return None


def _first_message(detail):
    if isinstance(detail, dict):
        for key, value in detail.items():
            msg = _first_message(value)
            if msg:
                return msg if key == "non_field_errors" else f"{key}: {msg}"
    elif isinstance(detail, list):
        for value in detail:
            msg = _first_message(value)
            if msg:
                return msg
    elif detail is not None:
        return str(detail)
    return None


def error_body(exc: DomainError | exceptions.ValidationError) -> dict:
    """The JSON error shape of a domain error or a serializer's validation error (also used
    for the per-record results of batch endpoints)."""
    if isinstance(exc, DomainError):
        body = {"code": exc.code, "detail": exc.detail}
        if exc.fields:
            body["fields"] = exc.fields
        return body
    code = _first_code(exc.get_codes())
    code = code if code and code not in _GENERIC_CODES else "invalid"
    fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    return {
        "code": code,
        "detail": _first_message(exc.detail) or "Invalid input.",
        "fields": fields,
    }
