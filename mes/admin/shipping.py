"""Admin of shipments: read-only (they are recorded by ``ship_lots``, from the API)."""

from django.contrib import admin

from mes.models import Shipment, ShipmentLine

from .base import SITE_FILTER, DomainRecordAdmin, ReadOnlyInline


class ShipmentLineInline(ReadOnlyInline):
    model = ShipmentLine
    fields = ("lot", "quantity")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lot", "shipment")


@admin.register(Shipment)
class ShipmentAdmin(DomainRecordAdmin):
    list_display = ("number", "site", "customer", "shipped_at")
    list_filter = (("site", SITE_FILTER), "shipped_at")
    list_select_related = ("site",)
    search_fields = ("number", "customer", "lines__lot__number")
    ordering = ("-shipped_at",)
    inlines = (ShipmentLineInline,)
