"""The escalation sweep: fire the ladder levels that are due, and keep the tickets' due times
and next escalation current (after a sweep, and when a policy or calendar changes)."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from mes.calendars import calendar_for

from .. import sla
from ..choices import EventKind
from ..models import EscalationFiring, ExceptionTicket, SlaPolicy, WorkflowState
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
    """Store a locked ticket's next escalation and due times, recomputed (bookkeeping of the
    clock, no version bump: the change that moved them has its own history)."""
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


RUNNING = [WorkflowState.Phase.RESOLVED, WorkflowState.Phase.CLOSED, WorkflowState.Phase.CANCELLED]


def reschedule_open(tickets, batch: int = 500) -> int:
    """Recompute the clocks of the open tickets among ``tickets`` (a queryset), a batch per
    transaction, each ticket under its row lock: the rules of their clock changed (an SLA or
    escalation policy, the site's calendar). Returns how many were looked at."""
    ids = list(tickets.exclude(phase__in=RUNNING).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            for ticket in (
                ExceptionTicket.objects.select_for_update(of=("self",))
                .select_related("site", "type")
                .filter(pk__in=ids[start : start + batch])
                .order_by("pk")
            ):
                reschedule(ticket)
    return len(ids)


def _types_and_severities(event) -> tuple[set, set]:
    """The types and severities an SLA policy governed before and after its change (None in
    a set: any)."""
    policy = SlaPolicy.objects.filter(pk=event.payload["id"]).values("type_id", "severity")
    now = policy.first() or {}
    before = {**now, **event.payload.get("previous", {})}
    types = {now.get("type_id"), before.get("type_id")}
    severities = {now.get("severity") or None, before.get("severity") or None}
    return types, severities


def reschedule_after(event) -> int:
    """Outbox subscriber: the open tickets whose clock a configuration change governs get
    new due times and next escalation: an SLA policy's type and severity (before and after),
    an escalation policy's tickets, a calendar's site."""
    tickets = ExceptionTicket.objects.all()
    if event.type == "sla_policy.changed":
        types, severities = _types_and_severities(event)
        if None not in types:
            tickets = tickets.filter(type_id__in=types)
        if None not in severities:
            tickets = tickets.filter(severity__in=severities)
    elif event.type == "escalation_policy.changed":
        tickets = tickets.filter(escalation_policy_id=event.payload["id"])
    elif event.type == "calendar.changed":
        tickets = tickets.filter(site_id=event.site_id)
    else:
        return 0
    return reschedule_open(tickets)
