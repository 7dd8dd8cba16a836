"""The routing rule engine: condition and action registries, evaluation, dry run.

Rules are evaluated in ``order`` by an outbox subscriber when a ticket is raised, changed or
resolved. Every action that has an effect leaves a timeline event naming its rule.

Adding an action (later capabilities do this from their ``AppConfig.ready()``)::

    from exceptions.rules import actions, Param

    @actions.register("open_quality_hold", label="Open a hold", params={"reason": Param(str)})
    def open_quality_hold(ticket, rule, params):
        ...                      # call a service; return a short description, or None if
        return "held lot L-1"    # nothing was done
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes import services as mes_services
from mes.choices import WORK_ORDER_ACTIONS, WorkOrderStatus
from mes.errors import DomainError
from mes.registry import Registry
from mes.roles import ROLES

from . import services
from .choices import Category, EventKind, FieldOperator, RuleTrigger, Severity
from .models import ExceptionTicket, RoutingRule, WorkflowState

log = logging.getLogger(__name__)


# --- registries -------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    kind: type | str  # str, list, or "role", "roles", "severity", "username"
    required: bool = True


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    apply: Callable[[ExceptionTicket, RoutingRule, dict], str | None]
    params: dict[str, Param] = field(default_factory=dict)


class ActionRegistry(Registry[Action]):
    """Rule actions: ``@actions.register("name", label=..., params={...})``."""

    def build(self, key: str, value, *, label, params: dict[str, Param] | None = None) -> Action:
        return Action(key, label, value, params or {})


actions = ActionRegistry("rule actions", "What a routing rule can do when it matches.")

Condition = Callable[[RoutingRule, ExceptionTicket], bool]
conditions: Registry[Condition] = Registry(
    "rule conditions", "Checks a routing rule makes; all must hold for it to match."
)


def condition(name: str):
    return conditions.register(name)


# --- conditions -------------------------------------------------------------------------


@condition("types")
def _types(rule, ticket) -> bool:
    ids = {t.pk for t in rule.types.all()}
    return not ids or ticket.type_id in ids


@condition("categories")
def _categories(rule, ticket) -> bool:
    return not rule.categories or ticket.type.category in rule.categories


@condition("sites")
def _sites(rule, ticket) -> bool:
    ids = {s.pk for s in rule.sites.all()}
    return not ids or ticket.site_id in ids


@condition("work_centers")
def _work_centers(rule, ticket) -> bool:
    ids = {w.pk for w in rule.work_centers.all()}
    return not ids or ticket.work_center_id in ids


@condition("severities")
def _severities(rule, ticket) -> bool:
    return not rule.severities or ticket.severity in rule.severities


def _number(value):
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def compare(op: str, actual, expected) -> bool:
    """One form-field comparison; a missing field or mismatched types never match."""
    if op == FieldOperator.EQUALS:
        return actual == expected
    if op == FieldOperator.NOT_EQUALS:
        return actual != expected
    if op == FieldOperator.IN:
        return isinstance(expected, list) and actual in expected
    if op == FieldOperator.CONTAINS:
        if isinstance(actual, str):
            return str(expected).lower() in actual.lower()
        return isinstance(actual, list) and expected in actual
    if op in (FieldOperator.GREATER, FieldOperator.LESS):
        a, e = _number(actual), _number(expected)
        if a is None or e is None or isinstance(actual, bool):
            return False
        return a > e if op == FieldOperator.GREATER else a < e
    return False


@condition("field_conditions")
def _fields(rule, ticket) -> bool:
    return all(
        c["field"] in ticket.data and compare(c["op"], ticket.data[c["field"]], c.get("value"))
        for c in rule.field_conditions
    )


def rule_matches(rule: RoutingRule, ticket: ExceptionTicket) -> bool:
    return all(check(rule, ticket) for check in conditions.values())


# --- actions ----------------------------------------------------------------------------


@actions.register(
    "assign_role", label=gettext_lazy("Put in a role's queue"), params={"role": Param("role")}
)
def assign_role(ticket, rule, params):
    group = services.role_group(params["role"])
    changed = services.route_exception(ticket, rule=rule, changes={"queue": group})
    return _("queued to %(role)s") % {"role": group.name} if changed else None


@actions.register(
    "assign_user", label=gettext_lazy("Assign to a user"), params={"username": Param("username")}
)
def assign_user(ticket, rule, params):
    user = get_user_model().objects.filter(username=params["username"], is_active=True).first()
    if user is None:
        raise DomainError(
            _("No active user %(u)s.") % {"u": params["username"]}, code="invalid_assignee"
        )
    changed = services.route_exception(ticket, rule=rule, changes={"assignee": user})
    return _("assigned to %(user)s") % {"user": user.username} if changed else None


@actions.register(
    "notify_roles", label=gettext_lazy("Notify roles at the site"), params={"roles": Param("roles")}
)
def notify_roles(ticket, rule, params):
    roles = list(params["roles"])
    services.note_rule_effect(
        ticket,
        rule=rule,
        kind=EventKind.NOTIFIED,
        event_type="exception.notified",
        message=", ".join(roles),
        roles=roles,
    )
    return _("notified %(roles)s") % {"roles": ", ".join(roles)}


@actions.register(
    "set_severity", label=gettext_lazy("Set the severity"), params={"severity": Param("severity")}
)
def set_severity(ticket, rule, params):
    changed = services.route_exception(ticket, rule=rule, changes={"severity": params["severity"]})
    return _("severity %(s)s") % {"s": params["severity"]} if changed else None


@actions.register("hold_work_order", label=gettext_lazy("Put the work order on hold"))
def hold_work_order(ticket, rule, params):
    wo = ticket.work_order
    if wo is None or wo.status not in WORK_ORDER_ACTIONS["hold"]:
        return None
    mes_services.hold_work_order(wo, actor=None, reason=f"{ticket.number}: {rule.name}")
    services.note_rule_effect(
        ticket,
        rule=rule,
        kind=EventKind.WORK_ORDER_HELD,
        event_type="exception.work_order_held",
        message=wo.erp_number,
        fields={"holds_work_order": True},
        work_order=wo.erp_number,
    )
    return _("held work order %(wo)s") % {"wo": wo.erp_number}


@actions.register(
    "resume_work_order", label=gettext_lazy("Resume the work order this exception held")
)
def resume_work_order(ticket, rule, params):
    wo = ticket.work_order
    if wo is None or not ticket.holds_work_order:
        return None
    others = (
        ExceptionTicket.objects.filter(work_order=wo, holds_work_order=True)
        .exclude(pk=ticket.pk)
        .exclude(
            phase__in=[
                WorkflowState.Phase.RESOLVED,
                WorkflowState.Phase.CLOSED,
                WorkflowState.Phase.CANCELLED,
            ]
        )
    )
    resumed = False
    if wo.status == WorkOrderStatus.ON_HOLD and not others.exists():
        mes_services.resume_work_order(
            wo, actor=None, reason=f"{ticket.number} resolved: {rule.name}"
        )
        resumed = True
    services.note_rule_effect(
        ticket,
        rule=rule,
        kind=EventKind.WORK_ORDER_RESUMED if resumed else EventKind.ROUTED,
        event_type="exception.work_order_resumed",
        message=wo.erp_number
        if resumed
        else _("%(wo)s stays on hold for other exceptions") % {"wo": wo.erp_number},
        fields={"holds_work_order": False},
        work_order=wo.erp_number,
        resumed=resumed,
    )
    return _("resumed work order %(wo)s") % {"wo": wo.erp_number} if resumed else None


@actions.register(
    "mark_for_erp", label=gettext_lazy("Post the resolution to the ERP (with its decision)")
)
def mark_for_erp(ticket, rule, params):
    """When the ticket is resolved, ``exception.resolved`` goes to the ERP endpoints that
    subscribe to it (only marked tickets' resolutions reach an ERP)."""
    if ticket.post_to_erp:
        return None
    services.note_rule_effect(
        ticket,
        rule=rule,
        kind=EventKind.ERP_MARKED,
        event_type="exception.marked_for_erp",
        fields={"post_to_erp": True},
    )
    return _("marked for ERP")


# --- validation of rules (admin) --------------------------------------------------------


def _param_problem(param: Param, value) -> str | None:
    if param.kind == "role":
        return None if value in ROLES else _("%(v)r is not a role.") % {"v": value}
    if param.kind == "roles":
        if not isinstance(value, list) or not value or any(v not in ROLES for v in value):
            return _("must be a list of roles (%(roles)s).") % {"roles": ", ".join(ROLES)}
        return None
    if param.kind == "severity":
        return (
            None
            if value in Severity.values
            else _("must be one of %(s)s.") % {"s": ", ".join(Severity.values)}
        )
    if param.kind == "username":
        return (
            None
            if get_user_model().objects.filter(username=value).exists()
            else _("no user %(v)r.") % {"v": value}
        )
    if isinstance(param.kind, type) and not isinstance(value, param.kind):
        return _("must be a %(t)s.") % {"t": param.kind.__name__}
    return None


def rule_problems(rule: RoutingRule) -> dict[str, list[str]]:
    """Field -> problems for a rule being saved (empty: fine)."""
    problems: dict[str, list[str]] = {}
    if not isinstance(rule.actions, list) or not rule.actions:
        problems.setdefault("actions", []).append(_("List at least one action."))
    else:
        for i, entry in enumerate(rule.actions, start=1):
            action = actions.get(entry.get("action")) if isinstance(entry, dict) else None
            if action is None:
                problems.setdefault("actions", []).append(
                    _("Action %(i)s: choose one of %(names)s.")
                    % {"i": i, "names": ", ".join(n for n, _l in actions.choices())}
                )
                continue
            for name, param in action.params.items():
                if name not in entry:
                    if param.required:
                        problems.setdefault("actions", []).append(
                            _("Action %(i)s needs %(p)s.") % {"i": i, "p": name}
                        )
                    continue
                issue = _param_problem(param, entry[name])
                if issue:
                    problems.setdefault("actions", []).append(f"{i}. {name}: {issue}")
    if not isinstance(rule.categories, list) or set(rule.categories) - set(Category.values):
        problems.setdefault("categories", []).append(
            _("Use categories from: %(c)s.") % {"c": ", ".join(Category.values)}
        )
    if not isinstance(rule.severities, list) or set(rule.severities) - set(Severity.values):
        problems.setdefault("severities", []).append(
            _("Use severities from: %(s)s.") % {"s": ", ".join(Severity.values)}
        )
    if not isinstance(rule.field_conditions, list):
        problems.setdefault("field_conditions", []).append(_("Must be a list."))
    else:
        for i, c in enumerate(rule.field_conditions, start=1):
            if (
                not isinstance(c, dict)
                or not c.get("field")
                or c.get("op") not in FieldOperator.values
                or "value" not in c
            ):
                problems.setdefault("field_conditions", []).append(
                    _('Condition %(i)s: {"field": ..., "op": one of %(ops)s, "value": ...}.')
                    % {"i": i, "ops": ", ".join(FieldOperator.values)}
                )
    return problems


# --- evaluation -------------------------------------------------------------------------


@dataclass
class Outcome:
    rule: RoutingRule
    matched: bool
    actions: list[str]
    stopped_here: bool = False


def active_rules(trigger: str):
    return (
        RoutingRule.objects.filter(is_active=True, trigger=trigger)
        .prefetch_related("types", "sites", "work_centers")
        .order_by("order", "pk")
    )


def dry_run(ticket: ExceptionTicket, trigger: str = RuleTrigger.RAISED) -> list[Outcome]:
    """Which rules would fire for ``ticket`` (saved or not), in order, without doing anything."""
    outcomes, stopped = [], False
    for rule in active_rules(trigger):
        matched = not stopped and rule_matches(rule, ticket)
        labels = (
            [
                str(actions.get(a["action"]).label)
                if actions.get(a["action"])
                else a.get("action", "?")
                for a in rule.actions
            ]
            if matched
            else []
        )
        outcomes.append(
            Outcome(rule, matched, labels, stopped_here=matched and rule.stop_processing)
        )
        stopped = stopped or (matched and rule.stop_processing)
    return outcomes


def evaluate(ticket_id: int, trigger: str) -> list[tuple[RoutingRule, list[str]]]:
    """Apply every matching rule's actions in order; returns what each rule did."""
    applied = []
    for rule in active_rules(trigger):
        ticket = ExceptionTicket.objects.select_related("type", "site", "work_order").get(
            pk=ticket_id
        )
        if not rule_matches(rule, ticket):
            continue
        done = []
        for entry in rule.actions:
            action = actions.get(entry.get("action"))
            if action is None:
                continue
            ticket = ExceptionTicket.objects.select_related("type", "site", "work_order").get(
                pk=ticket_id
            )
            try:
                result = action.apply(ticket, rule, entry)
            except DomainError as exc:
                log.warning(
                    "rule %s action %s failed on %s: %s",
                    rule.pk,
                    action.name,
                    ticket.number,
                    exc.detail,
                )
                services.note_rule_effect(
                    ticket,
                    rule=rule,
                    kind=EventKind.RULE_FAILED,
                    event_type="exception.rule_failed",
                    message=f"{action.name}: {exc.detail}",
                    action=action.name,
                    error=exc.detail,
                )
                continue
            if result:
                done.append(result)
        applied.append((rule, done))
        if rule.stop_processing:
            break
    return applied


TRIGGER_FOR_EVENT = {
    "exception.raised": RuleTrigger.RAISED,
    "exception.updated": RuleTrigger.UPDATED,
    "exception.resolved": RuleTrigger.RESOLVED,
}


def on_exception_event(event) -> None:
    """Outbox subscriber: run the rules for a raise, a user's change, or a resolution."""
    trigger = TRIGGER_FOR_EVENT.get(event.type)
    if trigger is None:
        return
    evaluate(int(event.aggregate_id), trigger)
