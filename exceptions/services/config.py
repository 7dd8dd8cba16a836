"""The configuration of exception tickets, saved like every change: validated, permission-
checked, with history (actor and reason) and one event per save. The event is what makes the
rest follow: open tickets are rescheduled when an SLA or escalation policy changes
(``exceptions/subscribers.py``)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from mes.access import sees_every_site, users_visible_to
from mes.errors import InvalidInput, NotPermitted
from mes.services.config import save_configuration

from ..models import (
    EscalationPolicy,
    ExceptionType,
    RoutingRule,
    SlaPolicy,
    Workflow,
    WorkflowState,
    WorkflowTransition,
)
from ..rule_registry import unknown_users
from ..workflow_diagram import describe_rows


def save_exception_type(exception_type: ExceptionType, *, actor, reason: str = "", **parts):
    """A type with its form schema (standard JSON Schema, checked by the model)."""
    return save_configuration(
        exception_type, actor=actor, reason=reason, event_type="exception_type.changed", **parts
    )


def save_workflow(workflow: Workflow, *, actor, reason: str = "", **parts):
    """A workflow with its states and transitions (``children``/``removed``). Its
    ``definition`` (states and moves as text) is brought up to date on the workflow and on the
    history row of this save, so the history shows a change of states or moves like any
    other field's."""

    def record_definition():
        definition = workflow_definition(workflow)
        if definition == workflow.definition:
            return
        Workflow.objects.filter(pk=workflow.pk).update(definition=definition)
        workflow.definition = definition
        row = workflow.history.order_by("-history_id").first()  # written by this save
        if row is not None:
            type(row).objects.filter(pk=row.pk).update(definition=definition)

    parts["after_children"] = [*parts.get("after_children", ()), record_definition]
    return save_configuration(
        workflow, actor=actor, reason=reason, event_type="workflow.changed", **parts
    )


def workflow_definition(workflow: Workflow) -> str:
    return describe_rows(
        list(WorkflowState.objects.filter(workflow=workflow)),
        WorkflowTransition.objects.filter(workflow=workflow).prefetch_related("roles"),
    )


def save_routing_rule(rule: RoutingRule, *, actor, reason: str = "", **parts):
    """A routing rule with its conditions (``after_save``: its types, sites, work centers).
    Unless the actor sees every site, the rule must be theirs before (every site it names is
    theirs) and after (it names at least one site, all theirs). The accounts its actions
    name are accounts the actor sees."""
    accounts = users_visible_to(actor) if actor is not None else get_user_model().objects.all()
    unknown = unknown_users(rule, accounts)
    if unknown:
        raise InvalidInput(_("Unknown account."), code="unknown_user", fields={"actions": unknown})
    if actor is not None and not sees_every_site(actor):
        if rule.pk is not None and not _manageable(rule, actor):
            raise NotPermitted(
                _("This rule also serves sites you do not manage."), code="wrong_site"
            )

        def still_theirs():
            if not _manageable(rule, actor):
                raise InvalidInput(
                    _("Name the sites the rule serves: at least one, all of them yours."),
                    code="rule_sites",
                    fields={"sites": [_("At least one of your sites.")]},
                )

        parts["after_save"] = [*parts.get("after_save", ()), still_theirs]
    return save_configuration(
        rule, actor=actor, reason=reason, event_type="routing_rule.changed", **parts
    )


def _manageable(rule: RoutingRule, actor) -> bool:
    return RoutingRule.objects.manageable_by(actor).filter(pk=rule.pk).exists()


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


def copy_workflow(source: Workflow, *, code: str, name: str, actor, reason: str = "") -> Workflow:
    """A new workflow with the states and moves (and who may make them) of ``source``: a
    workflow used as a template. Saved like any workflow save (history, one event)."""
    workflow = Workflow(code=code, name=name, initial_state=source.initial_state)
    states = {
        s.pk: WorkflowState(
            workflow=workflow,
            code=s.code,
            name=s.name,
            phase=s.phase,
            pauses_sla=s.pauses_sla,
            requires_decision=s.requires_decision,
        )
        for s in WorkflowState.objects.filter(workflow=source).order_by("pk")
    }
    moves = []
    for t in WorkflowTransition.objects.filter(workflow=source).prefetch_related("roles"):
        move = WorkflowTransition(
            workflow=workflow,
            from_state=states[t.from_state_id] if t.from_state_id else None,
            to_state=states[t.to_state_id],
            label=t.label,
            reason_required=t.reason_required,
        )
        moves.append((move, list(t.roles.all())))

    def set_roles():
        for move, roles in moves:
            move.roles.set(roles)

    return save_workflow(
        workflow,
        actor=actor,
        reason=reason or f"copied from {source.code}",
        children=[*states.values(), *(m for m, _r in moves)],
        after_children=[set_roles],
    )
