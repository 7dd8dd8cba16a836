"""The configuration of exception tickets, saved like every change: validated, permission-
checked, with history (actor and reason) and one event per save. The event is what makes the
rest follow: open tickets are rescheduled when an SLA or escalation policy changes
(``exceptions/subscribers.py``)."""

from __future__ import annotations

from mes.services.config import save_configuration

from ..models import EscalationPolicy, ExceptionType, RoutingRule, SlaPolicy, Workflow


def save_exception_type(exception_type: ExceptionType, *, actor, reason: str = "", **parts):
    """A type with its form schema (standard JSON Schema, checked by the model)."""
    return save_configuration(
        exception_type, actor=actor, reason=reason, event_type="exception_type.changed", **parts
    )


def save_workflow(workflow: Workflow, *, actor, reason: str = "", **parts):
    """A workflow with its states and transitions (``children``/``removed``)."""
    return save_configuration(
        workflow, actor=actor, reason=reason, event_type="workflow.changed", **parts
    )


def save_routing_rule(rule: RoutingRule, *, actor, reason: str = "", **parts):
    """A routing rule with its conditions (``after_save``: its types, sites, work centers)."""
    return save_configuration(
        rule, actor=actor, reason=reason, event_type="routing_rule.changed", **parts
    )


def save_sla_policy(policy: SlaPolicy, *, actor, reason: str = "", **parts):
    """Acknowledge and resolve targets of a type and severity; the open tickets they govern
    get new due times."""
    return save_configuration(
        policy, actor=actor, reason=reason, event_type="sla_policy.changed", **parts
    )


def save_escalation_policy(policy: EscalationPolicy, *, actor, reason: str = "", **parts):
    """A ladder with its levels (``children``/``removed``); the open tickets on it get their
    next escalation again."""
    return save_configuration(
        policy, actor=actor, reason=reason, event_type="escalation_policy.changed", **parts
    )
