"""REST API of exception tickets and their types: ``/api/v1/exceptions/``, ``exception-types/``."""

from .viewsets import ExceptionTypeViewSet, ExceptionViewSet

__all__ = ["ExceptionTypeViewSet", "ExceptionViewSet"]
