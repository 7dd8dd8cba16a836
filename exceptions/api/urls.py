"""The exceptions app's API routes (collected by :mod:`andon.api`)."""

from .viewsets import ExceptionTypeViewSet, ExceptionViewSet

routes = [
    ("exception-types", ExceptionTypeViewSet, "exceptiontype"),
    ("exceptions", ExceptionViewSet, "exception"),
]
