"""Admin of production records: work orders (with service actions), operations, lots,
confirmations and lot consumptions. Nothing here is edited directly."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mes import services
from mes.models import (
    Confirmation,
    Lot,
    LotConsumption,
    Operation,
    WorkOrder,
)

from .base import (
    SITE_FILTER,
    DomainRecordAdmin,
    ReadOnlyInline,
    apply_to_each,
    ask_reason,
)


class OperationInline(ReadOnlyInline):
    model = Operation
    fields = (
        "sequence",
        "work_center",
        "description",
        "status",
        "dispatch_rank",
        "machine",
        "planned_setup_minutes",
        "planned_run_minutes_per_unit",
        "actual_start",
        "actual_end",
    )
    ordering = ("sequence",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("work_order", "work_center", "machine")


def _number(work_order) -> str:
    return work_order.erp_number


@admin.register(WorkOrder)
class WorkOrderAdmin(DomainRecordAdmin):
    service_actions = True
    list_display = (
        "erp_number",
        "site",
        "item",
        "planned_qty",
        "due_date",
        "priority",
        "status",
        "released_at",
    )
    list_filter = ("status", ("site", SITE_FILTER), "due_date")
    list_select_related = ("site", "item")
    search_fields = ("erp_number", "item__code", "item__name")
    ordering = ("due_date", "priority", "erp_number")
    date_hierarchy = "due_date"
    fieldsets = (
        (None, {"fields": ("site", "erp_number", "erp_version", "item", "planned_qty")}),
        (_("Plan"), {"fields": ("due_date", "priority", "planned_start", "planned_end")}),
        (
            _("Execution"),
            {
                "fields": (
                    "status",
                    "status_before_hold",
                    "released_at",
                    "started_at",
                    "completed_at",
                    "closed_at",
                    "projected_end",
                )
            },
        ),
    )
    inlines = (OperationInline,)
    actions = ("release", "start", "hold", "resume", "complete", "close", "cancel")

    def _apply(self, request, queryset, service, done, **kwargs) -> None:
        """Run ``service`` on each selected order; one failure never stops the others."""
        queryset = queryset.select_related("site", "item")
        apply_to_each(self, request, queryset, service, done, name=_number, **kwargs)

    def _apply_with_reason(self, request, queryset, service, done, *, action, title):
        return ask_reason(
            self,
            request,
            queryset.select_related("site", "item"),
            action=action,
            title=title,
            note=gettext(
                "The reason is recorded in the history of each work order below and in its event."
            ),
            then=lambda reason: self._apply(request, queryset, service, done, reason=reason),
        )

    @admin.action(description=_("Release selected work orders"), permissions=["change"])
    def release(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.release_work_order,
            lambda n: ngettext(
                "%(count)d work order released.", "%(count)d work orders released.", n
            ),
        )

    @admin.action(description=_("Start selected work orders"), permissions=["change"])
    def start(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.start_work_order,
            lambda n: ngettext(
                "%(count)d work order started.", "%(count)d work orders started.", n
            ),
        )

    @admin.action(description=_("Hold selected work orders…"), permissions=["change"])
    def hold(self, request, queryset):
        return self._apply_with_reason(
            request,
            queryset,
            services.hold_work_order,
            lambda n: ngettext(
                "%(count)d work order put on hold.", "%(count)d work orders put on hold.", n
            ),
            action="hold",
            title=gettext("Hold work orders"),
        )

    @admin.action(description=_("Resume selected work orders"), permissions=["change"])
    def resume(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.resume_work_order,
            lambda n: ngettext(
                "%(count)d work order resumed.", "%(count)d work orders resumed.", n
            ),
        )

    @admin.action(description=_("Complete selected work orders"), permissions=["change"])
    def complete(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.complete_work_order,
            lambda n: ngettext(
                "%(count)d work order completed.", "%(count)d work orders completed.", n
            ),
        )

    @admin.action(description=_("Close selected work orders"), permissions=["change"])
    def close(self, request, queryset):
        self._apply(
            request,
            queryset,
            services.close_work_order,
            lambda n: ngettext("%(count)d work order closed.", "%(count)d work orders closed.", n),
        )

    @admin.action(description=_("Cancel selected work orders…"), permissions=["change"])
    def cancel(self, request, queryset):
        return self._apply_with_reason(
            request,
            queryset,
            services.cancel_work_order,
            lambda n: ngettext(
                "%(count)d work order cancelled.", "%(count)d work orders cancelled.", n
            ),
            action="cancel",
            title=gettext("Cancel work orders"),
        )


@admin.register(Operation)
class OperationAdmin(DomainRecordAdmin):
    list_display = (
        "__str__",
        "work_center",
        "status",
        "dispatch_rank",
        "machine",
        "planned_start",
        "actual_start",
        "actual_end",
    )
    list_filter = (
        "status",
        ("work_order__site", SITE_FILTER),
        ("work_center", SITE_FILTER),
    )
    list_select_related = ("work_order__site", "work_center", "machine")
    search_fields = ("work_order__erp_number", "work_center__code", "description")
    ordering = ("work_order__due_date", "work_order__erp_number", "sequence")


class LotConsumptionInline(ReadOnlyInline):
    """The lots a confirmation consumed."""

    model = LotConsumption
    fk_name = "confirmation"
    fields = ("lot", "quantity")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lot")


class LotUsageInline(ReadOnlyInline):
    """Where a lot went: the confirmations that consumed it."""

    model = LotConsumption
    fk_name = "lot"
    fields = ("confirmation", "quantity")
    verbose_name_plural = _("consumed by")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("lot", "confirmation__operation__work_order")
        )


@admin.register(Lot)
class LotAdmin(DomainRecordAdmin):
    list_display = (
        "number",
        "site",
        "item",
        "quantity",
        "held_qty",
        "status",
        "supplier",
        "received_at",
        "certificate_flag",
    )
    list_filter = ("status", ("site", SITE_FILTER), "item__kind")
    list_select_related = ("site", "item")
    search_fields = ("number", "item__code", "item__name", "supplier", "certificate")
    ordering = ("site__code", "number")
    inlines = (LotUsageInline,)

    @admin.display(description=_("certificate"), boolean=True)
    def certificate_flag(self, lot) -> bool | None:
        """Missing (a cross) when the item requires one; nothing when it does not."""
        return not lot.certificate_missing if lot.item.requires_certificate else None


@admin.register(Confirmation)
class ConfirmationAdmin(DomainRecordAdmin):
    list_display = (
        "__str__",
        "good_qty",
        "scrap_qty",
        "labor_minutes",
        "machine_minutes",
        "final",
        "confirmed_by",
        "created_at",
    )
    list_filter = ("final", ("operation__work_order__site", SITE_FILTER))
    list_select_related = ("operation__work_order__site", "machine", "confirmed_by")
    search_fields = ("operation__work_order__erp_number", "note", "consumptions__lot__number")
    ordering = ("-created_at", "-pk")
    inlines = (LotConsumptionInline,)


@admin.register(LotConsumption)
class LotConsumptionAdmin(DomainRecordAdmin):
    list_display = ("lot", "quantity", "confirmation")
    list_filter = (("lot__site", SITE_FILTER),)
    list_select_related = ("lot__site", "confirmation__operation__work_order")
    search_fields = (
        "lot__number",
        "lot__item__code",
        "confirmation__operation__work_order__erp_number",
    )
    ordering = ("-pk",)
