"""The routing rule engine: condition and action registries, evaluation, dry run.

Rules are evaluated in ``order`` by an outbox subscriber when a ticket is raised, changed or
resolved. Every action that has an effect leaves a timeline event naming its rule.

The registries, conditions and the check of a saved rule are :mod:`exceptions.rule_registry`;
the built-in actions below call services.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes import config_cache
from mes import services as mes_services
from mes.audit.context import Channel, channel
from mes.choices import WORK_ORDER_ACTIONS, WorkOrderStatus
from mes.errors import DomainError

from . import services
from .choices import EventKind, RuleTrigger
from .models import ExceptionTicket, RoutingRule, WorkflowState
from .rule_registry import Param, actions, rule_matches
from .services.base import evaluating

log = logging.getLogger(__name__)


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
    ticket.work_order = mes_services.hold_work_order(
        wo, actor=None, reason=f"{ticket.number}: {rule.name}"
    )
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
        ticket.work_order = mes_services.resume_work_order(
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


# --- evaluation -------------------------------------------------------------------------


@dataclass
class Outcome:
    rule: RoutingRule
    matched: bool
    actions: list[str]
    stopped_here: bool = False


def active_rules(trigger: str) -> list[RoutingRule]:
    """The rules of a trigger in order, kept until the configuration changes (read-only)."""
    return config_cache.cached(
        ("rules", trigger),
        lambda: list(
            RoutingRule.objects.filter(is_active=True, trigger=trigger)
            .prefetch_related("types", "sites", "work_centers")
            .order_by("order", "pk")
        ),
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


@channel(Channel.RULE)
def evaluate(ticket_id: int, trigger: str) -> list[tuple[RoutingRule, list[str]]]:
    """Apply every matching rule's actions in order; returns what each rule did. The ticket is
    locked once for the whole evaluation and the rule services change that instance (see
    ``services.base.evaluating``), so later rules match on what earlier ones did; after an
    action the ticket is read again only if its version moved past the instance's (an action
    that changed it through another path)."""
    applied = []
    with transaction.atomic():
        ticket = services.lock_ticket(ticket_id)
        token = evaluating.set(ticket)
        try:
            for rule in active_rules(trigger):
                if not rule_matches(rule, ticket):
                    continue
                done, ticket = _apply(rule, ticket)
                applied.append((rule, done))
                if rule.stop_processing:
                    break
        finally:
            evaluating.reset(token)
    return applied


def _apply(rule: RoutingRule, ticket: ExceptionTicket) -> tuple[list[str], ExceptionTicket]:
    """A rule's actions, each in a savepoint: a failed one leaves nothing behind (its failure
    is noted on the ticket as the database has it) and the next ones still run."""
    done = []
    for entry in rule.actions:
        action = actions.get(entry.get("action"))
        if action is None:
            continue
        try:
            with transaction.atomic():
                result = action.apply(ticket, rule, entry)
        except DomainError as exc:
            log.warning(
                "rule %s action %s failed on %s: %s",
                rule.pk,
                action.name,
                ticket.number,
                exc.detail,
            )
            ticket = services.lock_ticket(ticket.pk)  # not what the failed action set on it
            evaluating.set(ticket)
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
        ticket = _current(ticket)
        if result:
            done.append(result)
    return done, ticket


def _current(ticket: ExceptionTicket) -> ExceptionTicket:
    """The evaluation's ticket, read again (still locked) if something else changed it."""
    version = ExceptionTicket.objects.filter(pk=ticket.pk).values_list("version", flat=True)
    if version.first() == ticket.version:
        return ticket
    ticket = services.lock_ticket(ticket.pk)
    evaluating.set(ticket)
    return ticket


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
