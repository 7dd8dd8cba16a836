"""Non-conformances (8D-light): what went wrong, why, how it was contained, and the actions
with owners and due dates that keep it from happening again."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import HistoryAuditFields, Item, Lot, Site, SiteScopedQuerySet, WorkOrder


class NonConformance(models.Model):
    site_path = "site"

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CONTAINED = "contained", _("Contained")
        CLOSED = "closed", _("Closed")

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="nonconformances")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lots = models.ManyToManyField(Lot, blank=True, related_name="nonconformances")
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    ticket = models.ForeignKey(
        "exceptions.ExceptionTicket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="nonconformances",
    )
    root_cause = models.TextField(_("root cause"), blank=True)
    containment = models.TextField(_("containment"), blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields], no_db_index=["item", "work_order", "ticket", "opened_by"]
    )

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name = _("non-conformance")
        verbose_name_plural = _("non-conformances")
        indexes = [models.Index(fields=["site", "status"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        return f"NC-{self.pk}" if self.pk else "NC-new"


class NcAction(models.Model):
    """A containment, corrective or preventive action: an owner, a due date, done or not."""

    site_path = "nonconformance__site"

    class Kind(models.TextChoices):
        CONTAINMENT = "containment", _("Containment")
        CORRECTIVE = "corrective", _("Corrective")
        PREVENTIVE = "preventive", _("Preventive")

    nonconformance = models.ForeignKey(
        NonConformance, on_delete=models.CASCADE, related_name="actions"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.CharField(_("action"), max_length=500)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(_("due"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    # When the overdue action was escalated (once; ``quality.tasks.escalate_overdue_actions``).
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["owner"])

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        indexes = [models.Index(fields=["done_at", "due_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description}"
