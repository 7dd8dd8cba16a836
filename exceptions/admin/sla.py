"""Admin of the clocks: SLA targets, site working calendars, escalation ladders."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from mes.admin.base import ScopedForeignKeysMixin

from ..models import (
    EscalationLevel,
    EscalationPolicy,
    NonWorkingDay,
    SlaPolicy,
    WorkingCalendar,
)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SimpleHistoryAdmin):
    list_display = [
        "__str__",
        "type",
        "severity",
        "acknowledge_minutes",
        "resolve_minutes",
        "is_active",
    ]
    list_editable = ["acknowledge_minutes", "resolve_minutes", "is_active"]
    list_filter = ["severity", "is_active", "type"]
    list_select_related = ["type"]


class NonWorkingDayInline(admin.TabularInline):
    model = NonWorkingDay
    extra = 1


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(ScopedForeignKeysMixin, SimpleHistoryAdmin):
    """Shifts per weekday in the site's time zone; the SLA clock runs only inside them."""

    list_display = ["site", "shifts"]
    list_select_related = ["site"]
    inlines = [NonWorkingDayInline]
    fieldsets = [
        (
            None,
            {
                "fields": ["site", "shifts"],
                "description": _(
                    "Weekday 0 = Monday. Example (three shifts Monday 06:00 to Saturday 06:00): "
                    '{"0": [["06:00", "24:00"]], "1": [["00:00", "24:00"]], ..., '
                    '"5": [["00:00", "06:00"]]}. A site without a calendar works around the clock.'
                ),
            },
        )
    ]

    def get_queryset(self, request):
        from mes.access import visible_site_ids

        return super().get_queryset(request).filter(site_id__in=visible_site_ids(request.user))


class EscalationLevelInline(admin.TabularInline):
    model = EscalationLevel
    extra = 1
    filter_horizontal = ["notify_users"]
    fields = [
        "level",
        "clock",
        "after_minutes",
        "notify_roles",
        "notify_users",
        "raise_severity_to",
    ]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(SimpleHistoryAdmin):
    """A ladder: after N working minutes without acknowledge/resolve, notify roles at the
    ticket's site or users, optionally raise the severity. Each level fires once per ticket."""

    list_display = ["name", "order", "is_active"]
    list_editable = ["order", "is_active"]
    filter_horizontal = ["types"]
    inlines = [EscalationLevelInline]
