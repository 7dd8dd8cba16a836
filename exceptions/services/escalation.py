"""The escalation sweep: fire the ladder levels that are due, and keep the tickets' due times
and next escalation current (after a sweep, and when a policy or calendar changes)."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from mes.calendars import calendar_for

from .. import sla
from ..choices import EventKind
from ..models import EscalationFiring, ExceptionTicket
from .base import add_to_timeline, emit_ticket_event, save_ticket


def record_escalation(ticket: ExceptionTicket, *, level, now) -> None:
    """A ladder level fired on a ticket the sweep holds locked: raise the severity if the level
    says so, write the timeline, and emit ``exception.escalated`` for the notifications."""
    roles = list(level.notify_roles or [])
    users = list(level.notify_users.values_list("username", flat=True))
    fields = []
    new_severity = sla.escalated_severity(ticket.severity, level.raise_severity_to)
    if new_severity != ticket.severity:
        add_to_timeline(
            ticket,
            EventKind.SEVERITY_CHANGED,
            **{"from": ticket.severity, "to": new_severity, "level": level.level},
        )
        ticket.severity = new_severity
        fields.append("severity")
    add_to_timeline(
        ticket,
        EventKind.ESCALATED,
        message=", ".join([*roles, *users]),
        level=level.level,
        clock=level.clock,
        roles=roles,
        users=users,
    )
    save_ticket(ticket, actor=None, reason=f"escalation level {level.level}", fields=fields)
    emit_ticket_event(
        "exception.escalated",
        ticket,
        actor=None,
        reason=f"level {level.level}",
        level=level.level,
        clock=level.clock,
        roles=roles,
        users=users,
    )


def reschedule(ticket: ExceptionTicket) -> None:
    """After a sweep: store the next escalation and due times (bookkeeping, no version bump)."""
    changed = sla.schedule(ticket)
    if changed:
        columns = {
            name if name != "escalation_policy" else "escalation_policy_id" for name in changed
        }
        ExceptionTicket.objects.filter(pk=ticket.pk).update(
            **{c: getattr(ticket, c) for c in columns}
        )


def sweep_escalations(now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Fire every escalation level that is due. Reads only tickets whose next escalation has
    passed; safe to run concurrently. Returns the number of levels fired."""
    now = now or timezone.now()
    fired = 0
    with transaction.atomic():
        due = list(
            ExceptionTicket.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("site", "type")
            .filter(next_escalation_at__lte=now)
            .order_by("next_escalation_at")[:batch]
        )
        for ticket in due:
            calendar = calendar_for(ticket.site)
            for level in sla.pending_levels(ticket):
                if sla.deadline(ticket, level.after_minutes, calendar) > now:
                    break
                try:
                    with transaction.atomic():
                        EscalationFiring.objects.create(exception=ticket, level=level, fired_at=now)
                except IntegrityError:
                    continue
                record_escalation(ticket, level=level, now=now)
                fired += 1
            reschedule(ticket)
    return fired
