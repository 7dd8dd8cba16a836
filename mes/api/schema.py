"""The OpenAPI schema's view of every operation: besides its own answers, the errors it can
give, each in the one error shape (``{"code", "detail", "fields"}``)."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: `not_found`, `invalid`, ...")
    detail = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        required=False, help_text="Per field (or `non_field_errors`): a list of messages."
    )


ERRORS = {
    "400": "Invalid input (the field is named in `fields`).",
    "401": "No token or session, or a bad one.",
    "403": "Your role, your site, or the token's scope does not allow it.",
    "404": "Not found, or not visible to you.",
    "409": "A rule of the state machine refuses it.",
    "412": "`If-Match` names an older version.",
    "413": "The request body is too large.",
    "422": "The Idempotency-Key was used with another body.",
    "429": "Too many attempts; wait and retry.",
}
# Which errors each kind of operation may give.
_READ = ("400", "401", "403", "404", "429")
_WRITE = ("400", "401", "403", "404", "409", "412", "413", "429")


class AndonAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        ref = self.resolve_serializer(ErrorSerializer, "response").ref
        codes = _READ if self.method in ("GET", "HEAD", "OPTIONS") else _WRITE
        for code in codes:
            entry = responses.setdefault(code, {"description": ERRORS[code]})
            entry.setdefault("content", {"application/json": {"schema": ref}})
        return responses
