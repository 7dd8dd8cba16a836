"""What machines did: their state over time, the downtimes that stopped them (with the reason
the floor gave), and what they counted. Sources (the OPC UA collector, a floor page) report
through ``mes.services.machines``; OEE reads these rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import GLOBAL, GlobalQuerySet, HistoryAuditFields, SiteScopedQuerySet
from .production import Operation, WorkOrder
from .sites import Machine, Site


class MachineState(models.TextChoices):
    RUNNING = "running", _("Running")
    STOPPED = "stopped", _("Stopped")
    FAULT = "fault", _("Fault")
    SETUP = "setup", _("Setup")
    UNKNOWN = "unknown", _("Unknown")  # no data: the source is away


#: States in which a machine is down: a stop long enough opens a downtime.
DOWN = (MachineState.STOPPED, MachineState.FAULT)


class DowntimeReason(models.Model):
    """One node of the plant's reason tree (planned / unplanned, mechanical, electrical,
    material...): the floor picks a leaf for each downtime."""

    scope = GLOBAL

    class Category(models.TextChoices):
        PLANNED = "planned", _("Planned")
        MECHANICAL = "mechanical", _("Mechanical")
        ELECTRICAL = "electrical", _("Electrical")
        MATERIAL = "material", _("Material")
        TOOLING = "tooling", _("Tooling")
        QUALITY = "quality", _("Quality")
        ORGANISATION = "organisation", _("Organisation")
        OTHER = "other", _("Other")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    planned = models.BooleanField(_("planned"), default=False)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("downtime reason")
        verbose_name_plural = _("downtime reasons")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class MachineStateSpan(models.Model):
    """A machine in one state from ``started_at`` to ``ended_at`` (open: still in it)."""

    site_path = "machine__site"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="state_spans")
    state = models.CharField(_("state"), max_length=10, choices=MachineState.choices)
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("to"), null=True, blank=True)
    # A down state: when the stop began (stopped then fault is one stop).
    down_since = models.DateTimeField(null=True, blank=True)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["machine", "started_at"]
        verbose_name = _("machine state")
        verbose_name_plural = _("machine states")
        indexes = [models.Index(fields=["machine", "started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["machine"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_state_per_machine",
            )
        ]

    def __str__(self) -> str:
        return f"{self.machine_id} {self.state} {self.started_at:%Y-%m-%d %H:%M:%S}"


class Downtime(models.Model):
    """A stop that lasted the machine's ``downtime_after_seconds``: it raised an exception,
    and the floor says why (``reason``)."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="downtimes")
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="downtimes")
    state = models.CharField(_("state"), max_length=10, choices=MachineState.choices)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    operation = models.ForeignKey(
        Operation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.ForeignKey(
        DowntimeReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields], no_db_index=["work_order", "operation", "reason", "reason_by"]
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("downtime")
        verbose_name_plural = _("downtimes")
        indexes = [models.Index(fields=["machine", "started_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["machine"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_downtime_per_machine",
            )
        ]

    def __str__(self) -> str:
        return f"DT-{self.pk} {self.machine.code}"

    @property
    def number(self) -> str:
        return f"DT-{self.pk}"


class MachineCount(models.Model):
    """What a machine counted in one minute: good and scrapped pieces, and its short stops
    (stops shorter than its ``short_stop_seconds``: a loss of speed, not of time)."""

    site_path = "machine__site"

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="counts")
    minute = models.DateTimeField(_("minute"))
    good = models.PositiveIntegerField(_("good"), default=0)
    scrap = models.PositiveIntegerField(_("scrap"), default=0)
    short_stops = models.PositiveIntegerField(_("short stops"), default=0)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["machine", "minute"]
        verbose_name = _("machine count")
        verbose_name_plural = _("machine counts")
        constraints = [
            models.UniqueConstraint(fields=["machine", "minute"], name="one_count_per_minute")
        ]

    def __str__(self) -> str:
        return f"{self.machine_id} {self.minute:%Y-%m-%d %H:%M}: {self.good}/{self.scrap}"
