"""A machine that stops raises its own ticket: ``mes.services.on_downtime`` runs these in
the transaction that opens or closes a downtime, so a downtime has exactly one ticket (the
type ``machine_downtime``, raised via machine on its work center, order and operation), and
the ticket's timeline says when the machine ran again."""

from __future__ import annotations

from django.utils.translation import gettext as _

from mes.models import Downtime

from .choices import EventKind, RaisedVia
from .models import ExceptionTicket, ExceptionType
from .services.base import add_to_timeline, emit_ticket_event

TYPE = "machine_downtime"


def ticket_of(downtime: Downtime) -> ExceptionTicket | None:
    return (
        ExceptionTicket.objects.filter(
            machine=downtime.machine_id, external_refs__downtime=downtime.number
        )
        .order_by("pk")
        .first()
    )


def downtime_ticket(downtime: Downtime, *, started: bool, actor) -> None:
    if started:
        _raise(downtime)
        return
    ticket = ticket_of(downtime)
    if ticket is None:
        return
    minutes = round((downtime.ended_at - downtime.started_at).total_seconds() / 60)
    message = _("%(machine)s running again after %(minutes)s min") % {
        "machine": downtime.machine.code,
        "minutes": minutes,
    }
    add_to_timeline(
        ticket, EventKind.MACHINE_RUNNING, message=message, ended_at=downtime.ended_at.isoformat()
    )
    emit_ticket_event(
        "exception.machine_running", ticket, actor=None, reason=message, downtime=downtime.number
    )


def _raise(downtime: Downtime) -> None:
    from .services import raise_exception

    kind = ExceptionType.objects.filter(code=TYPE, is_active=True).first()
    if kind is None:  # a manager switched the type off: downtimes still count, no ticket
        return
    machine = downtime.machine
    raise_exception(
        actor=None,
        exception_type=kind,
        site=downtime.site,
        description=_("%(machine)s %(state)s since %(since)s")
        % {
            "machine": f"{machine.code} {machine.name}",
            "state": downtime.get_state_display().lower(),
            "since": downtime.started_at.strftime("%H:%M:%S"),
        },
        data={
            "downtime": downtime.number,
            "state": downtime.state,
            "since": downtime.started_at.isoformat(),
        },
        work_center=machine.work_center,
        machine=machine,
        work_order=downtime.work_order,
        operation=downtime.operation,
        raised_via=RaisedVia.MACHINE,
        external_refs={"downtime": downtime.number},
    )
