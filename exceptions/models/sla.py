"""Clocks: SLA targets, site working calendars and escalation ladders."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import (
    GLOBAL,
    INTERNAL,
    ChainedEntry,
    GlobalQuerySet,
    HistoryAuditFields,
    InternalQuerySet,
)

from ..choices import Severity
from .config import ExceptionType
from .tickets import ExceptionTicket


class SlaPolicy(models.Model):
    """Targets per type and severity; the most specific active policy applies (type and
    severity, then type, then severity, then neither)."""

    scope = GLOBAL

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


class EscalationPolicy(models.Model):
    """A ladder of levels for tickets of some types and severities (empty = all). Of the
    active policies that match a ticket, one naming its type wins over one naming none, then
    one naming severities over one naming none, then the lower ``order``
    (:func:`exceptions.sla.escalation_policy_for`)."""

    scope = GLOBAL

    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    types = models.ManyToManyField(ExceptionType, blank=True, verbose_name=_("types"))
    severities = models.JSONField(_("severities"), default=list, blank=True)
    wins_over_specific = models.BooleanField(
        _("applies even where a policy names the type"),
        default=False,
        help_text=_(
            "A policy naming the ticket's type wins over one naming no type, whatever their "
            "order, unless this is ticked on the one naming no type."
        ),
    )

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields], m2m_fields=[types], m2m_bases=[ChainedEntry]
    )

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("escalation policy")
        verbose_name_plural = _("escalation policies")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.severities, list) or any(
            s not in Severity.values for s in self.severities
        ):
            raise ValidationError(
                {
                    "severities": _("Tick severities among: %(s)s.")
                    % {"s": ", ".join(Severity.values)}
                }
            )


class EscalationLevel(models.Model):
    """After ``after_minutes`` of working time without acknowledge (or resolve), notify these
    roles (at the ticket's site) and users, and optionally raise the severity."""

    scope = GLOBAL

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

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields], m2m_fields=[notify_users], m2m_bases=[ChainedEntry]
    )

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

        roles = self.notify_roles
        if not isinstance(roles, list) or any(r not in ROLES for r in roles):
            raise ValidationError(
                {"notify_roles": _("Use roles from: %(r)s.") % {"r": ", ".join(ROLES)}}
            )


class EscalationFiring(models.Model):
    """A level fired for a ticket. Unique: a level never fires twice for the same ticket."""

    scope = INTERNAL

    exception = models.ForeignKey(
        ExceptionTicket, on_delete=models.CASCADE, related_name="escalations"
    )
    level = models.ForeignKey(EscalationLevel, on_delete=models.CASCADE, related_name="+")
    fired_at = models.DateTimeField(default=timezone.now)

    objects = InternalQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exception", "level"], name="escalation_fires_once")
        ]

    def __str__(self) -> str:
        return f"{self.exception_id}: {self.level_id}"
