"""The machines' facts in the admin: the reason tree managers keep (saved as master data)
and the downtimes, read-only (the machine and the floor write them through services)."""

from django.contrib import admin

from mes.models import Downtime, DowntimeReason

from .base import SITE_FILTER, DomainRecordAdmin, MasterDataAdmin


@admin.register(DowntimeReason)
class DowntimeReasonAdmin(MasterDataAdmin):
    list_display = ("code", "name", "parent", "category", "planned", "sort_order", "is_active")
    list_filter = ("category", "planned", "is_active")
    list_select_related = ("parent",)
    search_fields = ("code", "name")
    ordering = ("sort_order", "code")


@admin.register(Downtime)
class DowntimeAdmin(DomainRecordAdmin):
    list_display = ("__str__", "site", "state", "started_at", "ended_at", "reason", "work_order")
    list_filter = ("state", ("site", SITE_FILTER), ("reason", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("site", "machine", "reason", "work_order")
    search_fields = ("machine__code", "work_order__erp_number")
    date_hierarchy = "started_at"
