"""Helpers of the exceptions API tests (their fixtures are in conftest.py): URLs, bodies, state."""

from exceptions import services
from exceptions.models import Attachment, Decision, ExceptionEvent, ExceptionTicket
from mes.models import OutboxEvent

URL = "/api/v1/exceptions/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def shortage_body(wo=None, **extra):
    body = {
        "type": "material_shortage",
        "site": "P1",
        "description": "Brak blachy DC01",
        "data": {"material": "RM-DC01", "qty_missing": 40, "needed_by": "2026-07-02"},
    }
    if wo is not None:
        body["work_order"] = wo.erp_number
    return {**body, **extra}


def raise_ticket(actor, site, exception_type, **kwargs):
    kwargs.setdefault("data", {"material": "RM-1"})
    return services.raise_exception(actor=actor, exception_type=exception_type, site=site, **kwargs)


def state():
    """Everything a refused write must leave as it was."""
    return (
        ExceptionTicket.objects.count(),
        list(ExceptionTicket.objects.order_by("pk").values_list("status", "version", "severity")),
        ExceptionTicket.history.count(),
        ExceptionEvent.objects.count(),
        Decision.objects.count(),
        Attachment.objects.count(),
        OutboxEvent.objects.count(),
    )


def kinds(body):
    return [e["kind"] for e in body["timeline"]]
