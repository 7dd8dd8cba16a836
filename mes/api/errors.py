"""One JSON error shape for the whole API: ``{"code": ..., "detail": ..., "fields": {...}}``."""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from mes.errors import DomainError, error_body
from mes.uploads import UploadTooLarge

from .parsers import BodyTooLarge


def json_exception_handler(exc, context):
    """Map domain errors and DRF/Django exceptions to the stable JSON error shape."""
    if isinstance(exc, DomainError):
        return Response(error_body(exc), status=exc.status)
    if isinstance(exc, UploadTooLarge):
        limit = settings.ANDON_ATTACHMENT_MAX_BYTES
        message = _("The file is larger than %(n)s bytes.") % {"n": limit}
        return Response(
            {"code": "attachment_too_large", "detail": message, "fields": {"file": [message]}},
            status=400,
        )
    if isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge()
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
