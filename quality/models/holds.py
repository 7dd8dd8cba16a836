"""Quality holds: what quality stops (lots, an order, an operation, an item's lots, what a
supplier lot went into), how much of each lot, and what was decided about it."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.models import (
    GLOBAL,
    GlobalQuerySet,
    HistoryAuditFields,
    Item,
    Lot,
    Operation,
    Site,
    SiteScopedQuerySet,
    WorkCenter,
    WorkOrder,
)

QTY = {"max_digits": 14, "decimal_places": 3}


class SiteQualityPolicy(models.Model):
    """A site's quality rules (one row per site; a site without one keeps the defaults)."""

    site_path = "site"

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="quality_policy")
    two_person_release = models.BooleanField(
        _("two-person release"),
        default=False,
        help_text=_("Whoever placed a hold cannot release or disposition it."),
    )

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        verbose_name = _("site quality policy")
        verbose_name_plural = _("site quality policies")

    def __str__(self) -> str:
        return str(self.site)


class DispositionReason(models.Model):
    """Why a held quantity was released or dispositioned (a plant's own list)."""

    scope = GLOBAL

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["code"]
        verbose_name = _("disposition reason")
        verbose_name_plural = _("disposition reasons")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class QualityHold(models.Model):
    """One hold, placed with a reason, on what its scope names; resolved into the lots (and
    quantities) it holds when placed. Changed only by :mod:`quality.services`."""

    site_path = "site"

    class Target(models.TextChoices):
        LOT = "lot", _("Lot")
        WORK_ORDER = "work_order", _("Work order")
        OPERATION = "operation", _("Operation")
        ITEM = "item", _("All lots of an item")
        SUPPLIER_LOT = "supplier_lot", _("Everything made from a lot")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        UNDER_REVIEW = "under_review", _("Under review")
        RELEASED = "released", _("Released")
        DISPOSITIONED = "dispositioned", _("Dispositioned")

    OPEN = (Status.ACTIVE, Status.UNDER_REVIEW)

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="quality_holds")
    target = models.CharField(_("holds"), max_length=20, choices=Target.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    reason = models.CharField(_("reason"), max_length=500)
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="quality_holds_on"
    )
    operation = models.ForeignKey(
        Operation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    nonconformance = models.ForeignKey(
        "NonConformance", on_delete=models.PROTECT, null=True, blank=True, related_name="holds"
    )
    ticket = models.ForeignKey(
        "exceptions.ExceptionTicket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quality_holds",
    )
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    placed_at = models.DateTimeField(_("placed"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields],
        no_db_index=["lot", "work_order", "operation", "item", "nonconformance", "ticket"],
    )

    class Meta:
        ordering = ["-placed_at", "-pk"]
        verbose_name = _("quality hold")
        verbose_name_plural = _("quality holds")
        permissions = [("release_qualityhold", "Can release or disposition held material")]
        indexes = [models.Index(fields=["site", "status"])]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"QH-{self.pk}" if self.pk else "QH-new"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class HeldLot(models.Model):
    """How much of one lot a hold holds: ``quantity`` when placed, ``open_qty`` still held."""

    site_path = "hold__site"

    hold = models.ForeignKey(QualityHold, on_delete=models.CASCADE, related_name="lots")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="quality_holds")
    quantity = models.DecimalField(_("held"), **QTY)
    open_qty = models.DecimalField(_("still held"), **QTY)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["hold", "lot__number"]
        verbose_name = _("held lot")
        verbose_name_plural = _("held lots")
        constraints = [
            models.UniqueConstraint(fields=["hold", "lot"], name="held_lot_once_per_hold"),
            models.CheckConstraint(
                condition=models.Q(open_qty__gte=0) & models.Q(open_qty__lte=models.F("quantity")),
                name="held_lot_open_within_held",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lot.number}: {self.open_qty}/{self.quantity}"


class HoldDecision(models.Model):
    """One decision on held quantity: released, or dispositioned (use as is, rework, scrap,
    return to vendor, sort). Facts: never edited."""

    site_path = "hold__site"

    class Kind(models.TextChoices):
        RELEASE = "release", _("Release")
        USE_AS_IS = "use_as_is", _("Use as is")
        REWORK = "rework", _("Rework")
        SCRAP = "scrap", _("Scrap")
        RETURN = "return", _("Return to vendor")
        SORT = "sort", _("Sort (release the good, scrap the rest)")

    #: Kinds that make the quantity usable again.
    FREES = (Kind.RELEASE, Kind.USE_AS_IS)

    hold = models.ForeignKey(QualityHold, on_delete=models.PROTECT, related_name="decisions")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    kind = models.CharField(_("decision"), max_length=20, choices=Kind.choices)
    quantity = models.DecimalField(_("quantity"), **QTY, default=Decimal(0))
    released_qty = models.DecimalField(_("released"), **QTY, default=Decimal(0))
    scrapped_qty = models.DecimalField(_("scrapped"), **QTY, default=Decimal(0))
    reason_code = models.ForeignKey(
        DispositionReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=500)
    rework_operation = models.ForeignKey(
        Operation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rework_work_center = models.ForeignKey(
        WorkCenter, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), auto_now_add=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryAuditFields],
        no_db_index=["lot", "reason_code", "rework_operation", "rework_work_center"],
    )

    class Meta:
        ordering = ["hold", "decided_at", "pk"]
        verbose_name = _("hold decision")
        verbose_name_plural = _("hold decisions")

    def __str__(self) -> str:
        return f"{self.hold}: {self.get_kind_display()} {self.quantity}"
