"""One JSON error shape for the whole API: ``{"code": ..., "detail": ..., "fields": {...}}``."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from mes.errors import DomainError

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


def json_exception_handler(exc, context):
    """Map domain errors and DRF/Django exceptions to the stable JSON error shape."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return Response(error_body(exc), status=400)
    response = exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
    code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        code = "not_authenticated" if code != "authentication_failed" else code
    response.data = {"code": str(code), "detail": str(detail)}
    return response
