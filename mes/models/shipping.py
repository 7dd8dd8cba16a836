"""Shipments to customers: which lots left the plant, in what quantity, to whom (the end of
a recall's walk)."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import HistoryAuditFields, SiteScopedQuerySet
from .production import QTY, Lot
from .sites import Site


class Shipment(models.Model):
    """A delivery to a customer, as the ERP or the dispatch desk records it. Never edited."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="shipments")
    number = models.CharField(_("shipment number"), max_length=64)
    customer = models.CharField(_("customer"), max_length=200)
    shipped_at = models.DateTimeField(_("shipped"))
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields], no_db_index=["shipped_by"])

    class Meta:
        ordering = ["-shipped_at", "-pk"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "number"], name="shipment_number_unique_per_site"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} → {self.customer}"


class ShipmentLine(models.Model):
    """A quantity of one lot in a shipment."""

    site_path = "shipment__site"

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="lines")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.DecimalField(_("quantity"), **QTY, validators=[MinValueValidator(0)])

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["shipment", "pk"]
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")

    def __str__(self) -> str:
        return f"{self.shipment.number}: {self.quantity} × {self.lot.number}"
