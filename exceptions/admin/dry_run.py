"""The dry run of the routing rules: which rules would fire, in order, for an existing
exception or a described sample, and which of their conditions did not hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mes.errors import DomainError, InvalidInput
from mes.models import OutboxEvent, Site, WorkCenter

from .. import rule_registry, rules
from ..choices import FieldOperator, RuleTrigger, Severity
from ..models import ExceptionTicket, ExceptionType, RoutingRule
from ..pickers import picker_errors
from ..rule_registry import json_value
from ..schema import fields as schema_fields
from ..schema import validate_data


def describe_action(entry) -> str:
    if not isinstance(entry, dict):
        return "?"
    params = ", ".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
        for k, v in entry.items()
        if k != "action"
    )
    return f"{entry.get('action', '?')}({params})" if params else str(entry.get("action", "?"))


def recent_numbers(user, limit: int = 50) -> list[str]:
    """The numbers of the user's latest exceptions, offered as the dry run's subject."""
    tickets = ExceptionTicket.objects.visible_to(user).order_by("-raised_at", "-pk")
    return list(tickets.values_list("number", flat=True)[:limit])


class DryRunForm(forms.Form):
    """Either an existing exception (by number, at the user's sites) or a described sample."""

    trigger = forms.ChoiceField(
        label=_("Trigger"), choices=RuleTrigger.choices, initial=RuleTrigger.RAISED
    )
    ticket = forms.CharField(
        label=_("Existing exception"),
        required=False,
        max_length=30,
        help_text=_("Its number, e.g. P1-000123. Leave empty to describe a sample below."),
        widget=forms.TextInput(attrs={"list": "recent-exceptions", "autocomplete": "off"}),
    )
    type = forms.ModelChoiceField(
        label=_("Type"),
        queryset=ExceptionType.objects.order_by("sort_order", "name"),
        required=False,
    )
    site = forms.ModelChoiceField(label=_("Site"), queryset=Site.objects.none(), required=False)
    severity = forms.ChoiceField(
        label=_("Severity"),
        choices=[("", _("the type's default")), *Severity.choices],
        required=False,
    )
    work_center = forms.ModelChoiceField(
        label=_("Work center"), queryset=WorkCenter.objects.none(), required=False
    )
    data = forms.JSONField(
        label=_("Form data"),
        required=False,
        initial=dict,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=_('As the floor would send it, e.g. {"material": "RM-1", "qty_missing": 5}.'),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["site"].queryset = Site.objects.visible_to(user).order_by("code")
        self.fields["work_center"].queryset = (
            WorkCenter.objects.visible_to(user)
            .select_related("site")
            .order_by("site__code", "code")
        )
        self.fields["work_center"].label_from_instance = lambda wc: f"{wc.site.code} · {wc}"
        self.warnings: list[str] = []

    def clean(self):
        cleaned = super().clean()
        number = (cleaned.get("ticket") or "").strip()
        if number:
            ticket = (
                ExceptionTicket.objects.visible_to(self.user)
                .select_related("type", "site", "work_center", "work_order")
                .filter(number=number)
                .first()
            )
            if ticket is None:
                self.add_error("ticket", gettext("No exception with this number at your sites."))
            cleaned["subject"] = ticket
            return cleaned
        for name in ("type", "site"):
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, gettext("Pick one, or give an existing exception."))
        exception_type, site = cleaned.get("type"), cleaned.get("site")
        work_center = cleaned.get("work_center")
        if work_center is not None and site is not None and work_center.site_id != site.pk:
            self.add_error("work_center", gettext("Of another site."))
        data = cleaned.get("data")
        if data in (None, ""):
            data = {}
        if not isinstance(data, dict):
            self.add_error("data", gettext("The form data must be a JSON object."))
        if self.errors:
            return cleaned
        for field, errors in validate_data(exception_type.form_schema, data).items():
            self.warnings.extend(f"{field}: {e}" for e in errors)
        cleaned["subject"] = sample_ticket(
            exception_type,
            site,
            severity=cleaned.get("severity") or exception_type.default_severity,
            work_center=work_center,
            data=data,
        )
        return cleaned


def sample_ticket(exception_type, site, *, severity, work_center=None, data=None):
    """An unsaved ticket as it would be raised, for the dry run only (never saved)."""
    workflow = exception_type.workflow
    state = workflow.states.filter(code=workflow.initial_state).first()
    return ExceptionTicket(
        number=gettext("(sample)"),
        site=site,
        type=exception_type,
        workflow=workflow,
        work_center=work_center,
        severity=severity,
        status=state.code if state else workflow.initial_state,
        phase=state.phase if state else ExceptionTicket._meta.get_field("phase").default,
        data=data or {},
    )


@dataclass
class DryRunRow:
    rule: RoutingRule
    matched: bool
    actions: list[tuple[str, str]]  # (label, the JSON entry described)
    stops_here: bool
    skipped: bool
    failed: list[str]  # the conditions that did not hold


def dry_run_rows(ticket: ExceptionTicket, trigger: str, user=None) -> list[DryRunRow]:
    """``rules.dry_run`` with, per rule, the actions spelled out and the conditions that
    failed; of ``user``'s rules only (a rule serving only other sites never matches a ticket
    of theirs, and its name and conditions are not theirs to read)."""
    rows, stopped = [], False
    visible = (
        None
        if user is None
        else set(RoutingRule.objects.visible_to(user).values_list("pk", flat=True))
    )
    for outcome in rules.dry_run(ticket, trigger):
        rule = outcome.rule
        if visible is not None and rule.pk not in visible:
            stopped = stopped or outcome.stopped_here
            continue
        failed = []
        if not outcome.matched and not stopped:
            for name, check in rule_registry.conditions.items():
                if check(rule, ticket):
                    continue
                if name == "field_conditions":
                    failed += failed_field_conditions(rule, ticket)
                else:
                    failed.append(str(_condition_label(name)))
        rows.append(
            DryRunRow(
                rule=rule,
                matched=outcome.matched,
                actions=list(zip(outcome.actions, map(describe_action, rule.actions), strict=False))
                if outcome.matched
                else [],
                stops_here=outcome.stopped_here,
                skipped=stopped,
                failed=failed,
            )
        )
        stopped = stopped or outcome.stopped_here
    return rows


def failed_field_conditions(rule: RoutingRule, ticket: ExceptionTicket) -> list[str]:
    """Each form-field condition that does not hold, with what the ticket has instead."""
    failed = []
    for c in rule.field_conditions:
        name = c["field"]
        if name in ticket.data and rule_registry.compare(
            c["op"], ticket.data[name], c.get("value")
        ):
            continue
        condition = f"{name} {FieldOperator(c['op']).label} {json_value(c.get('value'))}"
        if name in ticket.data:
            has = gettext("the exception has %(v)s") % {"v": json_value(ticket.data[name])}
        else:
            has = gettext("the exception has no %(f)s") % {"f": name}
        failed.append(f"{condition} ({has})")
    return failed


def _condition_label(name: str):
    try:
        return RoutingRule._meta.get_field(name).verbose_name
    except FieldDoesNotExist:  # a condition registered by another app
        return name


# --- the net outcome: the real engine, rolled back ------------------------------------------


class _RollBack(Exception):
    """Raised to undo a simulated evaluation."""


@dataclass
class NetOutcome:
    queue: str | None
    assignee: str | None
    severity: str
    holds_work_order: bool
    post_to_erp: bool
    notified_roles: list[str]
    failed: list[str]  # actions that failed, as the timeline would say
    problem: str = ""  # why there is no outcome (a sample the raise would refuse)


def simulate(subject: ExceptionTicket, trigger: str, user, prepare=None, outcome=True):
    """``(rows, outcome)``: which rules would fire and why not (:func:`dry_run_rows`), and what
    all of them together would leave on the ticket (:class:`NetOutcome`: final queue,
    assignee, severity, work order held, who is told). Found by raising the sample (or taking
    the ticket) and running the real rule engine in a transaction that is then rolled back:
    nothing is kept, nothing is sent (the outbox rows and after-commit work go with it).
    ``prepare()`` runs first in that transaction (the rule page saves the rule being edited
    there, so it is tried among the others as it would be saved). A sample is saved without
    taking a number from the site's counter (real raises never wait on a dry run); with
    ``outcome=False`` (who may only read rules) nothing is run, only matched."""
    if not outcome:
        return dry_run_rows(subject, trigger, user), None
    rows, result = [], None
    try:
        with transaction.atomic():
            if prepare is not None:
                prepare()
            rows = dry_run_rows(subject, trigger, user)
            since = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            if subject.pk is None:
                _save_sample(subject)
            rules.evaluate(subject.pk, trigger)
            result = _outcome(subject.pk, since)
            raise _RollBack
    except _RollBack:
        return rows, result
    except DomainError as exc:
        return rows, NetOutcome(None, None, "", False, False, [], [], problem=exc.detail)


def _save_sample(sample: ExceptionTicket) -> None:
    """The sample as a raise would store it (its form data checked the same way), under a
    number of its own: in the rolled-back transaction only."""
    schema = sample.type.form_schema
    errors = validate_data(schema, sample.data) or picker_errors(
        schema_fields(schema), sample.data, sample.site
    )
    if errors:
        first = next(iter(errors))
        raise InvalidInput(f"{first}: {errors[first][0]}", code="invalid_form")
    sample.number = f"DRY-{uuid.uuid4().hex[:20]}"
    sample.save()


def _outcome(ticket_id: int, since: int) -> NetOutcome:
    ticket = ExceptionTicket.objects.select_related("queue", "assignee").get(pk=ticket_id)
    events = OutboxEvent.objects.filter(pk__gt=since, aggregate_id=str(ticket.pk))
    roles = sorted(
        {r for e in events.filter(type="exception.notified") for r in e.payload["roles"]}
        | ({ticket.queue.name} if ticket.queue_id else set())
    )
    failed = [e.payload.get("error", "") for e in events.filter(type="exception.rule_failed")]
    return NetOutcome(
        queue=ticket.queue.name if ticket.queue_id else None,
        assignee=ticket.assignee.get_username() if ticket.assignee_id else None,
        severity=ticket.get_severity_display(),
        holds_work_order=ticket.holds_work_order,
        post_to_erp=ticket.post_to_erp,
        notified_roles=roles,
        failed=failed,
    )
