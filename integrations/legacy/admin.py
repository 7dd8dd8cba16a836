"""The imports in the admin: read-only (the pages upload, map and commit); what came in,
read-only too; the floor's names of machines, kept between imports."""

from django.contrib import admin

from mes.admin.base import SITE_FILTER, DomainRecordAdmin

from .models import ImportJob, LegacyDowntime, LegacyException, MachineAlias


@admin.register(ImportJob)
class ImportJobAdmin(DomainRecordAdmin):
    list_display = ["filename", "site", "kind", "status", "good_rows", "created_by", "created_at"]
    list_filter = [("site", SITE_FILTER), "kind", "status"]
    search_fields = ["filename"]
    exclude = ["file"]


@admin.register(LegacyDowntime)
class LegacyDowntimeAdmin(DomainRecordAdmin):
    list_display = ["started_at", "ended_at", "site", "machine", "machine_text", "reason_text"]
    list_filter = [("site", SITE_FILTER)]
    search_fields = ["machine_text", "reason_text", "note"]
    list_select_related = ["site", "machine"]


@admin.register(LegacyException)
class LegacyExceptionAdmin(DomainRecordAdmin):
    list_display = [
        "raised_at",
        "site",
        "work_order_text",
        "type_text",
        "reported_via",
        "erp_updated",
    ]
    list_filter = [("site", SITE_FILTER), "reported_via", "erp_updated"]
    search_fields = ["work_order_text", "type_text", "decision", "reported_by"]
    list_select_related = ["site"]


@admin.register(MachineAlias)
class MachineAliasAdmin(DomainRecordAdmin):
    list_display = ["alias", "machine", "site"]
    list_filter = [("site", SITE_FILTER)]
    search_fields = ["alias", "machine__code"]
