"""Domain errors raised by services. The API turns each into JSON ``{"code", "detail"}``."""

from __future__ import annotations


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


class TransitionNotAllowed(DomainError):
    status = 409
    code = "transition_not_allowed"
