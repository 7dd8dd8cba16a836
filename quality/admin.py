"""Admin of quality: holds, non-conformances (read here; changed by services from the pages
and the API), disposition reasons and site policies (configuration)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from mes.admin.base import SITE_FILTER, ConfigAdmin, DomainRecordAdmin, ReadOnlyInline, ScopedInline

from . import services
from .models import (
    Characteristic,
    DefectCode,
    DispositionReason,
    HeldLot,
    HoldDecision,
    InspectionPlan,
    InspectionResult,
    NcAction,
    NonConformance,
    QualityHold,
    SiteQualityPolicy,
)


class HeldLotInline(ReadOnlyInline):
    model = HeldLot
    fields = ("lot", "quantity", "open_qty")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lot", "hold")


class HoldDecisionInline(ReadOnlyInline):
    model = HoldDecision
    fields = ("kind", "lot", "quantity", "released_qty", "scrapped_qty", "reason", "decided_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lot", "hold", "decided_by")


@admin.register(QualityHold)
class QualityHoldAdmin(DomainRecordAdmin):
    list_display = ("number", "site", "target", "status", "reason", "placed_by", "placed_at")
    list_filter = ("status", "target", ("site", SITE_FILTER))
    list_select_related = ("site", "placed_by")
    search_fields = ("reason", "lots__lot__number", "work_order__erp_number")
    ordering = ("-placed_at",)
    inlines = (HeldLotInline, HoldDecisionInline)

    @admin.display(description=_("hold"))
    def number(self, hold):
        return hold.number


class NcActionInline(ReadOnlyInline):
    model = NcAction
    fields = ("kind", "description", "owner", "due_at", "done_at", "escalated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner", "nonconformance")


@admin.register(NonConformance)
class NonConformanceAdmin(DomainRecordAdmin):
    list_display = ("number", "site", "title", "status", "supplier", "opened_at")
    list_filter = ("status", ("site", SITE_FILTER))
    list_select_related = ("site",)
    search_fields = ("title", "description", "supplier", "lots__number")
    ordering = ("-opened_at",)
    inlines = (NcActionInline,)

    @admin.display(description=_("non-conformance"))
    def number(self, nc):
        return nc.number


@admin.register(DispositionReason)
class DispositionReasonAdmin(ConfigAdmin):
    save_service = staticmethod(services.save_quality_configuration)
    list_display = ("code", "name", "is_active")
    search_fields = ("code", "name")


@admin.register(SiteQualityPolicy)
class SiteQualityPolicyAdmin(ConfigAdmin):
    save_service = staticmethod(services.save_quality_configuration)
    list_display = ("site", "two_person_release")
    list_select_related = ("site",)


class CharacteristicInline(ScopedInline):
    model = Characteristic
    extra = 0
    fields = (
        "position",
        "name",
        "kind",
        "nominal",
        "lower_limit",
        "upper_limit",
        "unit",
        "decimals",
        "defect_codes",
    )


@admin.register(InspectionPlan)
class InspectionPlanAdmin(ConfigAdmin):
    save_service = staticmethod(services.save_quality_configuration)
    list_display = ("name", "item", "operation_sequence", "frequency", "sample_size", "is_active")
    list_filter = ("is_active", "frequency")
    list_select_related = ("item",)
    search_fields = ("name", "item__code", "item__name")
    autocomplete_fields = ("item",)
    inlines = (CharacteristicInline,)


@admin.register(DefectCode)
class DefectCodeAdmin(ConfigAdmin):
    save_service = staticmethod(services.save_quality_configuration)
    list_display = ("code", "name", "is_active")
    search_fields = ("code", "name")


@admin.register(InspectionResult)
class InspectionResultAdmin(DomainRecordAdmin):
    list_display = (
        "characteristic",
        "operation",
        "lot",
        "sample",
        "value",
        "passed",
        "recorded_at",
    )
    list_filter = ("passed", ("operation__work_order__site", SITE_FILTER))
    list_select_related = ("characteristic", "operation__work_order", "lot")
    search_fields = ("characteristic__name", "operation__work_order__erp_number", "lot__number")
    ordering = ("-recorded_at",)
