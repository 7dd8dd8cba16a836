"""Sites, work centers and machines: where work is done."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.choices import WorkCenterKind

from .base import HistoryAuditFields, SiteScopedQuerySet


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value}, code="timezone")


class Site(models.Model):
    """A plant. Everything else belongs to exactly one site and is scoped by it."""

    site_path = "pk"

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    is_active = models.BooleanField(_("active"), default=True)
    projection_tolerance_minutes = models.PositiveIntegerField(
        _("projection tolerance (min)"),
        default=240,
        help_text=_(
            "A work order's projected completion is announced again (to the ERP) when it moves "
            "by more than this."
        ),
    )

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        permissions = [("access_site", _("Can access the site's records"))]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class WorkCenter(models.Model):
    """A group of machines or a workplace that operations are dispatched to."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="work_centers")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=20, choices=WorkCenterKind.choices, default=WorkCenterKind.OTHER
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["site__code", "code"]
        verbose_name = _("work center")
        verbose_name_plural = _("work centers")
        constraints = [
            models.UniqueConstraint(fields=["site", "code"], name="workcenter_code_unique_per_site")
        ]
        permissions = [("resequence_workcenter", _("Can resequence a work center's queue"))]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Machine(models.Model):
    """A machine in a work center."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="machines")
    work_center = models.ForeignKey(WorkCenter, on_delete=models.PROTECT, related_name="machines")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    ideal_cycle_seconds = models.DecimalField(
        _("ideal cycle (s)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    # A stop this long opens a downtime and raises an exception (the debounce: shorter
    # flaps raise nothing); a stop shorter than ``short_stop_seconds`` is a short stop.
    downtime_after_seconds = models.PositiveIntegerField(_("downtime after (s)"), default=120)
    short_stop_seconds = models.PositiveIntegerField(_("short stop under (s)"), default=30)
    is_active = models.BooleanField(_("active"), default=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["site__code", "code"]
        verbose_name = _("machine")
        verbose_name_plural = _("machines")
        constraints = [
            models.UniqueConstraint(fields=["site", "code"], name="machine_code_unique_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        if self.work_center_id and self.site_id and self.work_center.site_id != self.site_id:
            raise ValidationError(
                {"work_center": _("The work center belongs to another site.")}, code="wrong_site"
            )
