"""Items, work orders, operations, lots and confirmations: what is made, and what happened."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from mes.choices import ItemKind, LotStatus, OperationStatus, Unit, WorkOrderStatus

from .base import GLOBAL, GlobalQuerySet, HistoryAuditFields, SiteScopedQuerySet
from .sites import Machine, Site, WorkCenter

QTY = {"max_digits": 14, "decimal_places": 3}
MINUTES = {"max_digits": 12, "decimal_places": 4}
NON_NEGATIVE = [MinValueValidator(Decimal(0))]


class Item(models.Model):
    """A material: finished good, semi-finished part or raw material. Shared by all sites."""

    scope = GLOBAL

    code = models.CharField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind.choices)
    unit = models.CharField(_("unit"), max_length=5, choices=Unit.choices, default=Unit.PCS)
    requires_certificate = models.BooleanField(_("requires certificate"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    objects = GlobalQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["code"]
        verbose_name = _("item")
        verbose_name_plural = _("items")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class WorkOrderQuerySet(SiteScopedQuerySet):
    def behind(self, now=None):
        """Open orders past their due date (in the site's time zone) or past their planned end."""
        from mes.choices import WORK_ORDER_OPEN

        now = now or timezone.now()
        past_due = models.Q(pk__in=[])
        for site in Site.objects.only("pk", "timezone"):
            today = timezone.localdate(now, site.tzinfo)
            past_due |= models.Q(site=site, due_date__lt=today)
        return self.filter(status__in=WORK_ORDER_OPEN).filter(
            past_due | models.Q(planned_end__lt=now)
        )


class WorkOrder(models.Model):
    """A production order from the ERP, executed on the floor. Changed only by services."""

    site_path = "site"

    # Indexes a composite one leads with are not kept twice (each is written on every insert).
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="work_orders", db_index=False
    )
    erp_number = models.CharField(_("ERP number"), max_length=64)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="work_orders")
    planned_qty = models.DecimalField(
        _("planned quantity"), **QTY, validators=[MinValueValidator(Decimal("0.001"))]
    )
    due_date = models.DateField(_("due date"))
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text=_("1 is the most urgent."),
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=WorkOrderStatus.choices,
        default=WorkOrderStatus.PLANNED,
    )
    status_before_hold = models.CharField(
        max_length=20, choices=WorkOrderStatus.choices, blank=True, default=""
    )
    # A counter or a change timestamp (ms, µs): whatever the ERP orders its changes by.
    erp_version = models.PositiveBigIntegerField(_("ERP version"), default=0)
    # The ERP's own words for the order (Tryton: the production's reference, e.g. the sales
    # order it serves): display text, as sent.
    erp_reference = models.CharField(_("ERP reference"), max_length=100, blank=True)
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True)
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    # The projected completion last announced (mes.projection).
    projected_end = models.DateTimeField(_("projected completion"), null=True, blank=True)
    # Quality holds on the order as a whole (``quality``): while any is active, its operations
    # take no confirmation. Written only by the holding services, under the order's lock.
    quality_holds = models.PositiveSmallIntegerField(_("quality holds"), default=0)
    released_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkOrderQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["site", "item"])

    class Meta:
        ordering = ["due_date", "priority", "erp_number"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "erp_number"], name="workorder_erp_unique_per_site"
            )
        ]
        indexes = [models.Index(fields=["site", "status", "due_date"])]

    def __str__(self) -> str:
        return f"{self.site.code if self.site_id else ''} {self.erp_number}".strip()

    def is_behind(self, now=None) -> bool:
        from mes.choices import WORK_ORDER_OPEN

        if self.status not in WORK_ORDER_OPEN:
            return False
        now = now or timezone.now()
        if self.planned_end and self.planned_end < now:
            return True
        return self.due_date < timezone.localdate(now, self.site.tzinfo)


class Operation(models.Model):
    """One step of a work order's routing, done at a work center.

    ``dispatch_rank`` orders the queued operations of a work center (1 runs first); it is set on
    release and by resequencing, and cleared when the operation starts.
    """

    site_path = "work_order__site"

    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, related_name="operations", db_index=False
    )
    sequence = models.PositiveIntegerField(_("sequence"))
    work_center = models.ForeignKey(
        WorkCenter, on_delete=models.PROTECT, related_name="operations", db_index=False
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    planned_setup_minutes = models.DecimalField(
        _("planned setup (min)"), **MINUTES, default=Decimal(0), validators=NON_NEGATIVE
    )
    planned_run_minutes_per_unit = models.DecimalField(
        _("planned run (min/unit)"), **MINUTES, default=Decimal(0), validators=NON_NEGATIVE
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OperationStatus.choices, default=OperationStatus.QUEUED
    )
    dispatch_rank = models.PositiveIntegerField(_("dispatch position"), null=True, blank=True)
    machine = models.ForeignKey(
        Machine, on_delete=models.PROTECT, null=True, blank=True, related_name="operations"
    )
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True)
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True)
    actual_end = models.DateTimeField(_("actual end"), null=True, blank=True)
    # Quality holds on this operation (as ``WorkOrder.quality_holds``).
    quality_holds = models.PositiveSmallIntegerField(_("quality holds"), default=0)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["machine", "work_center"])

    class Meta:
        ordering = ["work_order", "sequence"]
        verbose_name = _("operation")
        verbose_name_plural = _("operations")
        constraints = [
            models.UniqueConstraint(
                fields=["work_order", "sequence"], name="operation_sequence_unique"
            )
        ]
        indexes = [models.Index(fields=["work_center", "status", "dispatch_rank"])]

    def __str__(self) -> str:
        return f"{self.work_order.erp_number} / {self.sequence}"

    @property
    def site_id(self) -> int:
        return self.work_order.site_id

    @property
    def planned_minutes(self) -> Decimal:
        """Setup plus run time for the work order's planned quantity."""
        return self.planned_setup_minutes + self.planned_run_minutes_per_unit * (
            self.work_order.planned_qty
        )


class WorkOrderComponent(models.Model):
    """A material the order needs (its bill of materials, as the ERP sent it): the total for
    the order's quantity."""

    site_path = "work_order__site"

    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, related_name="components", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("quantity"), **QTY, validators=NON_NEGATIVE)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["item"])

    class Meta:
        ordering = ["work_order", "pk"]
        verbose_name = _("component")
        verbose_name_plural = _("components")
        constraints = [
            models.UniqueConstraint(fields=["work_order", "item"], name="component_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.work_order.erp_number}: {self.quantity} × {self.item.code}"


class Lot(models.Model):
    """A quantity of one item with its own identity: a supplier lot or a produced lot."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="lots")
    number = models.CharField(_("lot number"), max_length=64)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots")
    quantity = models.DecimalField(_("quantity on hand"), **QTY, validators=NON_NEGATIVE)
    status = models.CharField(
        _("status"), max_length=20, choices=LotStatus.choices, default=LotStatus.AVAILABLE
    )
    # Of the quantity on hand, how much quality holds (``quality``): it cannot be consumed or
    # shipped. Written only by the holding services, under the lot's row lock.
    held_qty = models.DecimalField(
        _("held quantity"), **QTY, default=Decimal(0), validators=NON_NEGATIVE
    )
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    certificate = models.CharField(_("certificate"), max_length=100, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    produced_by = models.ForeignKey(
        "Confirmation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="produced_lots",
    )
    # The order that made it (its ``produced_by`` confirmation's), kept on the lot so genealogy
    # walks lot -> order -> consumed lots without joining confirmations and operations.
    work_order = models.ForeignKey(
        WorkOrder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="produced_lots",
        verbose_name=_("made by work order"),
    )

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["work_order"])

    class Meta:
        ordering = ["site__code", "number"]
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        constraints = [
            models.UniqueConstraint(fields=["site", "number"], name="lot_number_unique_per_site")
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def certificate_missing(self) -> bool:
        """Its item requires a certificate and it came without one (a quality hold builds
        on this)."""
        return self.item.requires_certificate and not self.certificate

    @property
    def free_qty(self) -> Decimal:
        """What may be consumed or shipped: on hand, less what quality holds."""
        return self.quantity - self.held_qty


class Confirmation(models.Model):
    """What an operation really produced: quantities, minutes and the lots in and out.

    Confirmations are facts; they are never edited. A correction is a new confirmation.
    """

    site_path = "operation__work_order__site"

    operation = models.ForeignKey(Operation, on_delete=models.PROTECT, related_name="confirmations")
    good_qty = models.DecimalField(_("good quantity"), **QTY, validators=NON_NEGATIVE)
    scrap_qty = models.DecimalField(
        _("scrap quantity"), **QTY, default=Decimal(0), validators=NON_NEGATIVE
    )
    labor_minutes = models.DecimalField(
        _("labor minutes"), **MINUTES, default=Decimal(0), validators=NON_NEGATIVE
    )
    machine_minutes = models.DecimalField(
        _("machine minutes"), **MINUTES, default=Decimal(0), validators=NON_NEGATIVE
    )
    machine = models.ForeignKey(
        Machine, on_delete=models.PROTECT, null=True, blank=True, related_name="confirmations"
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    final = models.BooleanField(
        _("final"), default=False, help_text=_("The operation is finished with this confirmation.")
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("confirmation")
        verbose_name_plural = _("confirmations")

    def __str__(self) -> str:
        return f"{self.operation} +{self.good_qty}"


class LotConsumption(models.Model):
    """A quantity of a lot consumed by a confirmation (the genealogy link)."""

    site_path = "lot__site"

    confirmation = models.ForeignKey(
        Confirmation, on_delete=models.PROTECT, related_name="consumptions"
    )
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="consumptions")
    # The confirmation's order, kept here for genealogy (see ``Lot.work_order``).
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.PROTECT, null=True, related_name="consumptions"
    )
    quantity = models.DecimalField(
        _("quantity"), **QTY, validators=[MinValueValidator(Decimal("0.001"))]
    )

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["work_order"])

    class Meta:
        verbose_name = _("lot consumption")
        verbose_name_plural = _("lot consumptions")

    def __str__(self) -> str:
        return f"{self.lot} -{self.quantity}"
