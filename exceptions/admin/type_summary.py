"""One place per exception type: what its page says of everything that handles it (its
workflow, the SLA policy and escalation ladder per severity, every rule that can match it,
its open tickets), each linked to where it is changed."""

from __future__ import annotations

from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from .. import sla
from ..choices import Severity
from ..models import ExceptionTicket, ExceptionType, RoutingRule, WorkflowState
from ..rule_registry import condition_problems
from ..schema import fields as schema_fields
from .workflow_view import saved_diagram

OPEN_PHASES = (
    WorkflowState.Phase.OPEN,
    WorkflowState.Phase.ACKNOWLEDGED,
    WorkflowState.Phase.ACTIVE,
)


def rules_for(exception_type: ExceptionType, user) -> list[RoutingRule]:
    """The rules (any trigger, active or not) that can match tickets of the type: naming it,
    or naming no type and none or its category; as the user may see them."""
    rules = (
        RoutingRule.objects.visible_to(user)
        .filter(Q(types=exception_type) | Q(types__isnull=True))
        .distinct()
        .prefetch_related("types")
        .order_by("trigger", "order", "pk")
    )
    return [r for r in rules if not r.categories or exception_type.category in r.categories]


def summary(exception_type: ExceptionType, user) -> str:
    own_fields = {name for name, *_rest in schema_fields(exception_type.form_schema)}
    rules = []
    for rule in rules_for(exception_type, user):
        missing = [
            c.get("field")
            for c in rule.field_conditions or []
            if isinstance(c, dict) and c.get("field") not in own_fields
        ]
        rules.append(
            {
                "rule": rule,
                "url": reverse("admin:exceptions_routingrule_change", args=[rule.pk]),
                "named": any(t.pk == exception_type.pk for t in rule.types.all()),
                "missing": missing,
            }
        )
    clocks = []
    for severity, label in Severity.choices:
        policy = sla.sla_policy_between(exception_type.pk, severity)
        ladder = sla.escalation_policy_between(exception_type.pk, severity)
        clocks.append(
            {
                "severity": label,
                "sla": policy,
                "sla_url": reverse("admin:exceptions_slapolicy_change", args=[policy.pk])
                if policy
                else "",
                "ladder": ladder,
                "ladder_url": reverse("admin:exceptions_escalationpolicy_change", args=[ladder.pk])
                if ladder
                else "",
            }
        )
    workflow = exception_type.workflow
    drawn = saved_diagram(workflow)
    return render_to_string(
        "admin/exceptions/exceptiontype/summary.html",
        {
            "type": exception_type,
            "workflow": workflow,
            "workflow_url": reverse("admin:exceptions_workflow_change", args=[workflow.pk]),
            "flags": drawn.unreachable + drawn.dead_ends,
            "clocks": clocks,
            "rules": rules,
            "open_tickets": ExceptionTicket.objects.visible_to(user)
            .filter(type=exception_type, phase__in=OPEN_PHASES)
            .count(),
            "tickets_url": reverse("admin:exceptions_exceptionticket_changelist")
            + f"?type__id__exact={exception_type.pk}",
            "dry_run_url": reverse("admin:exceptions_routingrule_dry_run")
            + f"?type={exception_type.pk}",
        },
    )


def change_impact(exception_type: ExceptionType, schema: dict, user) -> list[str]:
    """What saving ``schema`` as the type's form would affect, said before it is saved:
    tickets holding values of fields it removes, and rules whose field conditions it would
    break (a field gone, or its type or choices changed)."""
    before = {name for name, *_rest in schema_fields(exception_type.form_schema)}
    after = {name for name, *_rest in schema_fields(schema)}
    tickets = ExceptionTicket.objects.visible_to(user).filter(type=exception_type)
    impact = []
    for name in sorted(before - after):
        held = tickets.filter(data__has_key=name).count()
        if held:
            impact.append(
                ngettext(
                    "Removing %(f)s: %(n)d ticket holds a value for it (it keeps it).",
                    "Removing %(f)s: %(n)d tickets hold a value for it (they keep it).",
                    held,
                )
                % {"f": name, "n": held}
            )
    edited = ExceptionType(pk=exception_type.pk, name=exception_type.name, form_schema=schema)
    for rule in rules_for(exception_type, user):
        was = condition_problems(rule.field_conditions, [exception_type])
        for problem in condition_problems(rule.field_conditions, [edited]):
            if problem not in was:
                impact.append(
                    gettext("Rule %(rule)s would no longer match: %(problem)s")
                    % {"rule": rule.name, "problem": problem}
                )
    return impact
