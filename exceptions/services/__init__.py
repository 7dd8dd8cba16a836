"""Every change of an exception ticket, and of the configuration that governs tickets.

``tickets``: raise, transition, decide, comment, update, attach. ``routing``: what the rules
do. ``escalation``: the sweep and rescheduling. ``config``: types, workflows, rules, SLA and
escalation policies, saved with a reason and an event.
"""

from .base import PreconditionFailed, emit_ticket_event, lock_ticket, ticket_payload
from .config import (
    copy_workflow,
    save_escalation_policy,
    save_exception_type,
    save_routing_rule,
    save_sla_policy,
    save_workflow,
)
from .escalation import record_escalations, reschedule, reschedule_open, sweep_escalations
from .notes import add_attachment, comment_exception
from .routing import note_rule_effect, role_group, route_exception
from .tickets import (
    raise_exception,
    record_decision,
    transition_exception,
    update_exception,
)

__all__ = [
    "PreconditionFailed",
    "add_attachment",
    "comment_exception",
    "copy_workflow",
    "emit_ticket_event",
    "lock_ticket",
    "note_rule_effect",
    "raise_exception",
    "record_decision",
    "record_escalations",
    "reschedule",
    "role_group",
    "route_exception",
    "reschedule_open",
    "save_escalation_policy",
    "save_exception_type",
    "save_routing_rule",
    "save_sla_policy",
    "save_workflow",
    "sweep_escalations",
    "ticket_payload",
    "transition_exception",
    "update_exception",
]
