"""What the routing rules do to a ticket: route it (queue, assignee, severity) and record
the effects they have outside it (a held work order, a notification)."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from mes.roles import ROLES

from ..models import ExceptionTicket
from .base import add_to_timeline, emit_ticket_event, lock_for_rule, save_ticket
from .tickets import apply_changes


def route_exception(ticket: ExceptionTicket, *, rule, changes: dict) -> list[str]:
    """Apply a routing rule's changes as the system. Emits ``exception.routed``, which rules do
    not listen to, so a rule never triggers itself."""
    with transaction.atomic():
        locked = lock_for_rule(ticket)
        changed = apply_changes(locked, changes, actor=None, rule=rule)
        if changed:
            save_ticket(locked, actor=None, reason=f"rule: {rule.name}"[:100], fields=changed)
            emit_ticket_event(
                "exception.routed",
                locked,
                actor=None,
                reason=rule.name,
                rule=rule.name,
                changed=changed,
            )
    return changed


def note_rule_effect(
    ticket: ExceptionTicket,
    *,
    rule,
    kind: str,
    event_type: str,
    message: str = "",
    fields: dict | None = None,
    **data,
) -> None:
    """Record an effect a rule had outside the ticket (a held order, a notification), with any
    ticket flags it set, as one audited change: a timeline entry of ``kind`` and an outbox
    event of ``event_type`` (the rule action names it; see ``exceptions/events.py``)."""
    with transaction.atomic():
        locked = lock_for_rule(ticket)
        add_to_timeline(locked, kind, rule=rule, message=message, **data)
        if fields:
            for name, value in fields.items():
                setattr(locked, name, value)
            save_ticket(locked, actor=None, reason=f"rule: {rule.name}"[:100], fields=list(fields))
        emit_ticket_event(event_type, locked, actor=None, reason=rule.name, rule=rule.name, **data)


def role_group(name: str) -> Group | None:
    return Group.objects.filter(name=name).first() if name in ROLES else None
