"""Exception tickets and their low-code configuration: types with forms, workflows, routing rules.

Everything a plant configures (types, workflows, rules) is a model edited in the admin with
history. Tickets change only through ``exceptions.services``.
"""

import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import (
    GlobalQuerySet,
    HistoryAuditFields,
    Lot,
    Machine,
    Operation,
    Site,
    SiteScopedQuerySet,
    WorkCenter,
    WorkOrder,
)

from .choices import Category, EventKind, RaisedVia, RuleTrigger, Severity
from .schema import schema_problems, with_field_order


class Workflow(models.Model):
    """A state machine for tickets: states and the transitions between them."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    initial_state = models.SlugField(_("initial state"), max_length=40, default="open")

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["code"]
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.pk and not self.states.filter(code=self.initial_state).exists():
            raise ValidationError({"initial_state": _("The workflow has no such state.")})


class WorkflowState(models.Model):
    """A state of a workflow. ``phase`` says what it means for timestamps, rules and SLAs."""

    class Phase(models.TextChoices):
        OPEN = "open", _("Open, nobody acknowledged yet")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ACTIVE = "active", _("Being worked on")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="states")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, default=Phase.ACTIVE)
    pauses_sla = models.BooleanField(
        _("pauses the SLA clock"),
        default=False,
        help_text=_("While a ticket is in this state (e.g. waiting on a supplier) no time counts."),
    )
    requires_decision = models.BooleanField(
        _("requires a decision"),
        default=False,
        help_text=_("A ticket enters this state only after a decision is recorded."),
    )

    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["workflow", "pk"]
        verbose_name = _("workflow state")
        verbose_name_plural = _("workflow states")
        constraints = [
            models.UniqueConstraint(fields=["workflow", "code"], name="workflow_state_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_terminal(self) -> bool:
        return self.phase in (self.Phase.CLOSED, self.Phase.CANCELLED)


class WorkflowTransition(models.Model):
    """An allowed move. No from-state means "from any state that is not closed or cancelled";
    no roles means any role that may change exceptions."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.ForeignKey(
        WorkflowState,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    to_state = models.ForeignKey(
        WorkflowState, on_delete=models.CASCADE, related_name="+", verbose_name=_("to")
    )
    label = models.CharField(_("button label"), max_length=60, blank=True)
    roles = models.ManyToManyField(Group, blank=True, related_name="+", verbose_name=_("roles"))
    reason_required = models.BooleanField(_("reason required"), default=False)

    history = HistoricalRecords(bases=[HistoryAuditFields], m2m_fields=[roles])

    class Meta:
        ordering = ["workflow", "pk"]
        verbose_name = _("workflow transition")
        verbose_name_plural = _("workflow transitions")

    def __str__(self) -> str:
        src = self.from_state.code if self.from_state_id else "*"
        return f"{src} -> {self.to_state.code}"

    def clean(self) -> None:
        for field in ("from_state", "to_state"):
            # An empty or invalid choice leaves no id: the form reports it, not this check.
            state = getattr(self, field) if getattr(self, f"{field}_id") else None
            if state is not None and self.workflow_id and state.workflow_id != self.workflow_id:
                raise ValidationError({field: _("The state belongs to another workflow.")})


class ExceptionType(models.Model):
    """What can go wrong, with the form the floor fills in (a JSON Schema subset)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    description = models.TextField(_("description"), blank=True)
    form_schema = models.JSONField(
        _("form schema"),
        default=dict,
        blank=True,
        help_text=_(
            'JSON Schema subset: {"type": "object", "properties": {"field": {"type": '
            '"string|number|integer|boolean|date", "title": "Label", "enum": [...], '
            '"minimum": 0, "maximum": 10, "minLength": 1, "maxLength": 200}}, '
            '"required": ["field"]}'
        ),
    )
    default_severity = models.CharField(
        _("default severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM
    )
    workflow = models.ForeignKey(
        Workflow, on_delete=models.PROTECT, related_name="types", verbose_name=_("workflow")
    )
    icon = models.CharField(_("icon"), max_length=8, blank=True, help_text=_("An emoji."))
    colour = models.CharField(_("colour"), max_length=7, default="#b45309")
    sort_order = models.PositiveSmallIntegerField(_("order on the floor"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("exception type")
        verbose_name_plural = _("exception types")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        problems = schema_problems(self.form_schema)
        if problems:
            raise ValidationError({"form_schema": problems})
        self.form_schema = with_field_order(self.form_schema)


class ExceptionQuerySet(SiteScopedQuerySet):
    def open(self):
        return self.exclude(phase__in=[WorkflowState.Phase.CLOSED, WorkflowState.Phase.CANCELLED])

    def _clock_running(self):
        Phase = WorkflowState.Phase
        return self.filter(sla_paused_since__isnull=True).exclude(
            phase__in=[Phase.RESOLVED, Phase.CLOSED, Phase.CANCELLED]
        )

    def sla_breached(self, now=None):
        """Past the acknowledge due time unacknowledged, or past the resolve due time."""
        now = now or timezone.now()
        return self._clock_running().filter(
            models.Q(acknowledged_at__isnull=True, ack_due_at__lt=now)
            | models.Q(resolve_due_at__lt=now)
        )

    def sla_due_within(self, minutes: float, now=None):
        """Not breached, but a due time falls within the next ``minutes``."""
        now = now or timezone.now()
        soon = now + datetime.timedelta(minutes=minutes)
        return (
            self._clock_running()
            .filter(
                models.Q(acknowledged_at__isnull=True, ack_due_at__gte=now, ack_due_at__lte=soon)
                | models.Q(resolve_due_at__gte=now, resolve_due_at__lte=soon)
            )
            .exclude(pk__in=self.sla_breached(now).values("pk"))
        )


class ExceptionTicket(models.Model):
    """One exception raised on the floor: typed, routed, timed and audited.

    ``status`` is the code of a state of ``workflow``; ``phase`` mirrors that state's phase so
    lists filter without a join. ``version`` grows on every change (the API's ETag).
    """

    site_path = "site"

    number = models.CharField(_("number"), max_length=30, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="exceptions")
    type = models.ForeignKey(ExceptionType, on_delete=models.PROTECT, related_name="exceptions")
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="+")
    work_center = models.ForeignKey(
        WorkCenter, on_delete=models.PROTECT, null=True, blank=True, related_name="exceptions"
    )
    machine = models.ForeignKey(
        Machine, on_delete=models.PROTECT, null=True, blank=True, related_name="exceptions"
    )
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="exceptions"
    )
    operation = models.ForeignKey(
        Operation, on_delete=models.PROTECT, null=True, blank=True, related_name="exceptions"
    )
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="exceptions"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    status = models.SlugField(_("status"), max_length=40)
    phase = models.CharField(
        max_length=20, choices=WorkflowState.Phase.choices, default=WorkflowState.Phase.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_exceptions",
        verbose_name=_("assignee"),
    )
    queue = models.ForeignKey(
        Group,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("role queue"),
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="raised_exceptions",
    )
    raised_via = models.CharField(
        _("raised via"), max_length=10, choices=RaisedVia.choices, default=RaisedVia.FLOOR
    )
    description = models.TextField(_("description"), blank=True)
    data = models.JSONField(_("form data"), default=dict, blank=True)
    external_refs = models.JSONField(_("ERP references"), default=dict, blank=True)
    holds_work_order = models.BooleanField(
        default=False, help_text=_("A rule put the work order on hold for this exception.")
    )
    erp_pending = models.BooleanField(_("to be posted to the ERP"), default=False)
    version = models.PositiveIntegerField(default=1)
    # SLA clock (exceptions/sla.py): due times in working time of the site's calendar.
    ack_due_at = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    resolve_due_at = models.DateTimeField(_("resolve by"), null=True, blank=True)
    sla_paused_since = models.DateTimeField(null=True, blank=True)
    sla_paused_minutes = models.FloatField(default=0)
    escalation_policy = models.ForeignKey(
        "EscalationPolicy", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    next_escalation_at = models.DateTimeField(null=True, blank=True, db_index=True)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now, db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ExceptionQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["-raised_at", "-pk"]
        verbose_name = _("exception")
        verbose_name_plural = _("exceptions")
        indexes = [
            models.Index(fields=["site", "phase", "raised_at"]),
            models.Index(fields=["queue", "phase"]),
            models.Index(fields=["assignee", "phase"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.type.name if self.type_id else ''}".strip()


class ExceptionEvent(models.Model):
    """The typed timeline of a ticket, in order. Append-only: the events are the audit."""

    site_path = "exception__site"

    exception = models.ForeignKey(ExceptionTicket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rule = models.ForeignKey(
        "RoutingRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")

    def __str__(self) -> str:
        return f"{self.exception.number} {self.kind}"


class Decision(models.Model):
    """What was decided about an exception, by whom, and why."""

    site_path = "exception__site"

    exception = models.ForeignKey(
        ExceptionTicket, on_delete=models.CASCADE, related_name="decisions"
    )
    decision = models.TextField(_("decision"))
    reasoning = models.TextField(_("reasoning"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["decided_at", "pk"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")

    def __str__(self) -> str:
        return self.decision[:60]


def attachment_path(instance, filename: str) -> str:
    return f"exceptions/{instance.exception.site.code}/{instance.exception.number}/{filename}"


class Attachment(models.Model):
    """A photo or document attached to an exception (size and type limited by settings)."""

    site_path = "exception__site"

    exception = models.ForeignKey(
        ExceptionTicket, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.file.name


class RoutingRule(models.Model):
    """Ordered conditions -> actions, evaluated when a ticket is raised, changed or resolved.

    Empty conditions match everything. ``field_conditions`` compare form fields:
    ``[{"field": "qty_missing", "op": "greater", "value": 100}]``. ``actions`` come from the
    action registry: ``[{"action": "assign_role", "role": "procurement"}]``.
    """

    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    trigger = models.CharField(
        _("trigger"), max_length=10, choices=RuleTrigger.choices, default=RuleTrigger.RAISED
    )
    stop_processing = models.BooleanField(
        _("stop after this rule"),
        default=False,
        help_text=_("Later rules are skipped if it fires."),
    )
    types = models.ManyToManyField(ExceptionType, blank=True, verbose_name=_("types"))
    categories = models.JSONField(_("categories"), default=list, blank=True)
    sites = models.ManyToManyField(Site, blank=True, verbose_name=_("sites"))
    work_centers = models.ManyToManyField(WorkCenter, blank=True, verbose_name=_("work centers"))
    severities = models.JSONField(_("severities"), default=list, blank=True)
    field_conditions = models.JSONField(_("form field conditions"), default=list, blank=True)
    actions = models.JSONField(_("actions"), default=list)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], m2m_fields=[types, sites, work_centers])

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    def clean(self) -> None:
        from .rules import rule_problems

        problems = rule_problems(self)
        if problems:
            raise ValidationError(problems)


class SiteCounter(models.Model):
    """Per-site running numbers (P1-000123), incremented under a row lock."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=40)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="site_counter_unique")]

    def __str__(self) -> str:
        return f"{self.name}@{self.site_id}={self.value}"


class SlaPolicy(models.Model):
    """Targets per type and severity; the most specific active policy applies (type and
    severity, then type, then severity, then neither)."""

    type = models.ForeignKey(
        ExceptionType, on_delete=models.CASCADE, null=True, blank=True, related_name="sla_policies"
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, blank=True)
    acknowledge_minutes = models.PositiveIntegerField(
        _("acknowledge within (min)"), null=True, blank=True
    )
    resolve_minutes = models.PositiveIntegerField(_("resolve within (min)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["type", "severity"], name="sla_policy_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.type or _('any type')} / {self.severity or _('any severity')}"


class WorkingCalendar(models.Model):
    """When a site works. ``shifts`` maps weekday (0 = Monday) to ``[["06:00", "22:00"], ...]``
    in the site's time zone ("24:00" ends at midnight). No calendar: the clock never stops."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="calendar")
    shifts = models.JSONField(_("weekly shifts"), default=dict)

    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendars")

    def __str__(self) -> str:
        return str(self.site)

    def clean(self) -> None:
        from .sla import calendar_problems

        problems = calendar_problems(self.shifts)
        if problems:
            raise ValidationError({"shifts": problems})


class NonWorkingDay(models.Model):
    calendar = models.ForeignKey(
        WorkingCalendar, on_delete=models.CASCADE, related_name="closed_days"
    )
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["date"]
        verbose_name = _("non-working day")
        verbose_name_plural = _("non-working days")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="closed_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"


class EscalationPolicy(models.Model):
    """A ladder of levels for tickets of some types and severities (empty = all)."""

    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    types = models.ManyToManyField(ExceptionType, blank=True, verbose_name=_("types"))
    severities = models.JSONField(_("severities"), default=list, blank=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], m2m_fields=[types])

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")

    def __str__(self) -> str:
        return self.name


class EscalationLevel(models.Model):
    """After ``after_minutes`` of working time without acknowledge (or resolve), notify these
    roles (at the ticket's site) and users, and optionally raise the severity."""

    class Clock(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", _("without acknowledge")
        RESOLVE = "resolve", _("without resolve")

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    level = models.PositiveSmallIntegerField(_("level"))
    clock = models.CharField(
        _("clock"), max_length=12, choices=Clock.choices, default=Clock.ACKNOWLEDGE
    )
    after_minutes = models.PositiveIntegerField(_("after (min)"))
    notify_roles = models.JSONField(_("notify roles"), default=list, blank=True)
    notify_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("notify users")
    )
    raise_severity_to = models.CharField(
        _("raise severity to"), max_length=10, choices=Severity.choices, blank=True
    )

    history = HistoricalRecords(bases=[HistoryAuditFields], m2m_fields=[notify_users])

    class Meta:
        ordering = ["policy", "level"]
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")
        constraints = [
            models.UniqueConstraint(fields=["policy", "level"], name="escalation_level_unique")
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.level}"

    def clean(self) -> None:
        from mes.roles import ROLES

        bad = [r for r in self.notify_roles or [] if r not in ROLES]
        if not isinstance(self.notify_roles, list) or bad:
            raise ValidationError(
                {"notify_roles": _("Use roles from: %(r)s.") % {"r": ", ".join(ROLES)}}
            )


class EscalationFiring(models.Model):
    """A level fired for a ticket. Unique: a level never fires twice for the same ticket."""

    exception = models.ForeignKey(
        ExceptionTicket, on_delete=models.CASCADE, related_name="escalations"
    )
    level = models.ForeignKey(EscalationLevel, on_delete=models.CASCADE, related_name="+")
    fired_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exception", "level"], name="escalation_fires_once")
        ]

    def __str__(self) -> str:
        return f"{self.exception_id}: {self.level_id}"
