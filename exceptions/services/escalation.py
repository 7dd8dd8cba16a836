"""The escalation sweep: fire the ladder levels that are due, and keep the tickets' due times
and next escalation current (after a sweep, and when a policy or calendar changes)."""

from __future__ import annotations

import copy
import datetime

from django.db import transaction
from django.utils import timezone

from mes import config_cache
from mes.audit.context import history_stamps
from mes.bulk import update_rows
from mes.calendars import calendar_for
from mes.outbox import emit_events

from .. import sla
from ..choices import EventKind
from ..models import (
    EscalationFiring,
    EscalationLevel,
    ExceptionEvent,
    ExceptionTicket,
    SlaPolicy,
    WorkflowState,
)
from .base import ticket_event


def record_escalations(firings: list[tuple[ExceptionTicket, EscalationLevel]], *, now) -> None:
    """Ladder levels fired on tickets the sweep holds locked, in bulk: for each (in order; a
    ticket may fire several levels at once) raise the severity if the level says so, write
    the timeline, save a new version with its history row, and emit ``exception.escalated``
    for the notifications. A few statements for the whole list."""
    names = _usernames({level.pk for _ticket, level in firings})
    timeline, versions, events = [], [], []
    for ticket, level in firings:
        roles, users = list(level.notify_roles or []), names.get(level.pk, [])
        new_severity = sla.escalated_severity(ticket.severity, level.raise_severity_to)
        if new_severity != ticket.severity:
            change = {"from": ticket.severity, "to": new_severity, "level": level.level}
            timeline.append(_event(ticket, EventKind.SEVERITY_CHANGED, now, **change))
            ticket.severity = new_severity
        timeline.append(
            _event(
                ticket,
                EventKind.ESCALATED,
                now,
                message=", ".join([*roles, *users]),
                level=level.level,
                clock=level.clock,
                roles=roles,
                users=users,
            )
        )
        ticket.version += 1
        ticket.updated_at = now
        version = copy.copy(ticket)  # the history row of this level's change
        version._history_user, version._history_date = None, now
        version._change_reason = f"escalation level {level.level}"
        versions.append(version)
        events.append(
            ticket_event(
                "exception.escalated",
                ticket,
                actor=None,
                reason=f"level {level.level}",
                level=level.level,
                clock=level.clock,
                roles=roles,
                users=users,
            )
        )
    EscalationFiring.objects.bulk_create(
        [EscalationFiring(exception=t, level=level, fired_at=now) for t, level in firings]
    )
    ExceptionEvent.objects.bulk_create(timeline)
    ExceptionTicket.history.bulk_history_create(
        versions, update=True, custom_historical_attrs=history_stamps()
    )
    emit_events(events)


def _usernames(level_ids: set[int]) -> dict[int, list[str]]:
    """The people each level names, in one query."""
    through = EscalationLevel.notify_users.through
    names: dict[int, list[str]] = {}
    rows = (
        through.objects.filter(escalationlevel_id__in=level_ids)
        .order_by("escalationlevel_id", "user__username")
        .values_list("escalationlevel_id", "user__username")
    )
    for level_id, username in rows:
        names.setdefault(level_id, []).append(username)
    return names


def _event(ticket, kind, now, *, message: str = "", **data) -> ExceptionEvent:
    return ExceptionEvent(exception=ticket, kind=kind, message=message, data=data, created_at=now)


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


CLOCK_FIELDS = ["ack_due_at", "resolve_due_at", "next_escalation_at", "escalation_policy"]


def sweep_escalations(now: datetime.datetime | None = None, batch: int = 500) -> int:
    """Fire every escalation level that is due, a batch of tickets per transaction in a few
    statements: the due tickets locked (SKIP LOCKED: concurrent sweeps take others), the
    levels they already fired in one read, then the firings, timeline, versions, history and
    events in bulk, and the tickets' new clocks in one update. Reads only tickets whose next
    escalation has passed. Returns the number of levels fired."""
    now = now or timezone.now()
    fired = 0
    while True:
        with transaction.atomic(), config_cache.scope():
            due = list(
                ExceptionTicket.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("site", "type", "work_order", "queue", "assignee")
                .filter(next_escalation_at__lte=now)
                .order_by("next_escalation_at")[:batch]
            )
            if not due:
                return fired
            already = _fired_levels(due)
            firings = []
            for ticket in due:
                ticket.fired_level_ids = already.get(ticket.pk, set())
                calendar = calendar_for(ticket.site)
                for level in sla.pending_levels(ticket):
                    if sla.deadline(ticket, level.after_minutes, calendar) > now:
                        break
                    firings.append((ticket, level))
                    ticket.fired_level_ids.add(level.pk)
            if firings:
                record_escalations(firings, now=now)
            escalated = {t.pk for t, _level in firings}
            changed = [t for t in due if sla.schedule(t) or t.pk in escalated]
            update_rows(
                ExceptionTicket, changed, [*CLOCK_FIELDS, "severity", "version", "updated_at"]
            )
            fired += len(firings)
        if len(due) < batch:
            return fired


def _fired_levels(tickets: list[ExceptionTicket]) -> dict[int, set[int]]:
    fired: dict[int, set[int]] = {}
    rows = EscalationFiring.objects.filter(exception__in=tickets).values_list(
        "exception_id", "level_id"
    )
    for ticket_id, level_id in rows:
        fired.setdefault(ticket_id, set()).add(level_id)
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
