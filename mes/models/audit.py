"""Bookkeeping of the tamper evidence (``mes.audit``): which columns each chained table's
hashes cover, the keyed checkpoints that detect deleted rows, and the verification runs."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import INTERNAL, InternalQuerySet


class AuditSchema(models.Model):
    """The columns a chained table's hashes cover, from the row after ``since_pk`` on: a
    migration that adds or drops a column starts a new version, and the rows written before
    it are verified over the columns they were written with."""

    scope = INTERNAL

    table = models.CharField(max_length=100)
    columns = models.JSONField(default=list)
    since_pk = models.BigIntegerField(default=0)
    recorded_at = models.DateTimeField(default=timezone.now)
    mac = models.CharField(max_length=64, blank=True)  # keyed: a forged column set shows

    objects = InternalQuerySet.as_manager()

    class Meta:
        ordering = ["table", "since_pk", "pk"]

    def __str__(self) -> str:
        return f"{self.table} after {self.since_pk}"


class AuditCheckpoint(models.Model):
    """How many rows a chained table held up to ``max_pk`` when it was last found intact,
    under a keyed MAC chained per table: a row deleted later leaves the count short."""

    scope = INTERNAL

    table = models.CharField(max_length=100)
    max_pk = models.BigIntegerField()
    rows = models.BigIntegerField()
    taken_at = models.DateTimeField(default=timezone.now)
    mac = models.CharField(max_length=64)

    objects = InternalQuerySet.as_manager()

    class Meta:
        ordering = ["table", "pk"]
        indexes = [models.Index(fields=["table", "-id"], name="audit_checkpoint_latest")]

    def __str__(self) -> str:
        return f"{self.table}: {self.rows} rows up to {self.max_pk}"


class AuditRun(models.Model):
    """One run of the verification (``verify_audit``, the auditors' page, the nightly task)."""

    scope = INTERNAL

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    intact = models.BooleanField(null=True)
    rows = models.BigIntegerField(default=0)
    tables = models.PositiveIntegerField(default=0)
    # The first broken link per table: [{"table", "pk", "chain", "seq", "problem"}]
    breaks = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    anchor = models.CharField(_("anchor"), max_length=64, blank=True)
    started_by = models.CharField(max_length=150, blank=True)

    objects = InternalQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        permissions = [("view_audit", "Can read every history and verify the audit chains")]

    def __str__(self) -> str:
        return f"audit run {self.started_at:%Y-%m-%d %H:%M}"
