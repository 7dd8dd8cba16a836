"""Exception tickets, their timeline, decisions, attachments and per-site numbering."""

import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import (
    INTERNAL,
    ChainedEntry,
    HistoryAuditFields,
    InternalQuerySet,
    Lot,
    Machine,
    Operation,
    Site,
    SiteScopedQuerySet,
    WorkCenter,
    WorkOrder,
)

from ..choices import EventKind, RaisedVia, Severity
from .config import ExceptionType, Workflow, WorkflowState


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
    post_to_erp = models.BooleanField(
        _("post the resolution to the ERP"),
        default=False,
        help_text=_("A rule marked it: exception.resolved goes to the ERP endpoints."),
    )
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
        permissions = [
            ("triage_exceptionticket", _("Lower severity, move queue, assign others")),
        ]
        indexes = [
            models.Index(fields=["site", "phase", "raised_at"]),
            models.Index(fields=["queue", "phase"]),
            models.Index(fields=["assignee", "phase"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.type.name if self.type_id else ''}".strip()


class ExceptionEvent(ChainedEntry):
    """The typed timeline of a ticket, in order. Append-only: the events are the audit,
    chained per ticket (``mes.audit``)."""

    site_path = "exception__site"
    audit_chain = "exception"

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


class SiteCounter(models.Model):
    """Per-site running numbers (P1-000123), incremented under a row lock."""

    scope = INTERNAL

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=40)
    value = models.PositiveBigIntegerField(default=0)

    objects = InternalQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="site_counter_unique")]

    def __str__(self) -> str:
        return f"{self.name}@{self.site_id}={self.value}"
