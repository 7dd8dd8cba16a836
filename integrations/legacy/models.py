"""Imports of the plant's spreadsheets (``ImportJob``), what they brought in (the downtimes
and exceptions the floor handled outside Andon, kept apart from the machines' own records),
and the names the floor gives its machines (``MachineAlias``)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import (
    DowntimeReason,
    HistoryAuditFields,
    Machine,
    Site,
    SiteScopedQuerySet,
    WorkOrder,
)


class ImportJob(models.Model):
    """One file on its way in: uploaded, its columns mapped, previewed (a dry run listing
    every row that does not map, and why), committed all at once or not at all."""

    site_path = "site"

    class Kind(models.TextChoices):
        DOWNTIME_LOG = "downtime_log", _("downtime log")
        EXCEPTION_LOG = "exception_log", _("exception tracker")
        REASON_CODES = "reason_codes", _("downtime reason codes")
        USERS = "users", _("users")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("uploaded")
        PREVIEWED = "previewed", _("previewed")
        COMMITTING = "committing", _("committing")
        COMMITTED = "committed", _("committed")
        FAILED = "failed", _("failed")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="imports")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(max_length=64)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    header_row = models.PositiveIntegerField(_("header row"), default=1)
    # target field -> column index (0-based), or null: not in this file
    mapping = models.JSONField(default=dict, blank=True)
    # the floor's names of machines -> machine code (saved as aliases when committed)
    machine_names = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    good_rows = models.PositiveIntegerField(default=0)
    skipped_rows = models.PositiveIntegerField(default=0)
    # [{"row": spreadsheet row number, "reason": "..."}]
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    committed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], excluded_fields=["errors"])

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("spreadsheet import")
        verbose_name_plural = _("spreadsheet imports")

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_kind_display()})"


class MachineAlias(models.Model):
    """What the floor calls a machine ("kabina 2", "Haas 2", "DMU"), per site."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    alias = models.CharField(_("name on the floor"), max_length=100)  # folded (sheets.fold)
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="aliases")

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["site__code", "alias"]
        verbose_name = _("machine name on the floor")
        verbose_name_plural = _("machine names on the floor")
        constraints = [
            models.UniqueConstraint(fields=["site", "alias"], name="legacy_alias_unique")
        ]

    def __str__(self) -> str:
        return f"{self.alias} → {self.machine_id}"


class LegacyDowntime(models.Model):
    """A stop written down on the supervisors' sheet: outside the system."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    machine = models.ForeignKey(Machine, on_delete=models.PROTECT, related_name="+")
    machine_text = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    shift = models.CharField(max_length=20, blank=True)
    reason_text = models.CharField(max_length=200, blank=True)
    reason = models.ForeignKey(
        DowntimeReason, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, related_name="downtimes")
    row = models.PositiveIntegerField()

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["machine", "reason"])

    class Meta:
        ordering = ["started_at", "pk"]
        verbose_name = _("downtime from a spreadsheet")
        verbose_name_plural = _("downtimes from spreadsheets")
        indexes = [models.Index(fields=["site", "started_at"], name="legacy_downtime_when")]

    def __str__(self) -> str:
        return f"{self.machine_text} {self.started_at:%Y-%m-%d %H:%M}"


class LegacyException(models.Model):
    """A line of the planners' tracker: an exception handled by phone, chat or in person."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    reported_by = models.CharField(max_length=100, blank=True)
    # how it was reported: as written, and as one of kinds.CHANNELS (phone, chat, ...)
    reported_via_text = models.CharField(max_length=40, blank=True)
    reported_via = models.CharField(max_length=12, blank=True)
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    work_order_text = models.CharField(max_length=100, blank=True)
    type_text = models.CharField(max_length=200, blank=True)
    decision = models.TextField(blank=True)
    decided_by = models.CharField(max_length=100, blank=True)
    erp_updated = models.CharField(max_length=8, blank=True)  # yes / no / unknown / ""
    erp_updated_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    job = models.ForeignKey(ImportJob, on_delete=models.PROTECT, related_name="exceptions")
    row = models.PositiveIntegerField()

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["work_order"])

    class Meta:
        ordering = ["raised_at", "pk"]
        verbose_name = _("exception from a spreadsheet")
        verbose_name_plural = _("exceptions from spreadsheets")
        indexes = [models.Index(fields=["site", "raised_at"], name="legacy_exception_when")]

    def __str__(self) -> str:
        return f"{self.raised_at:%Y-%m-%d} {self.type_text}"
