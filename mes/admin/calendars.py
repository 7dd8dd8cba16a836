"""Admin of the sites' working calendars: shifts and closed days."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from mes import services
from mes.models import NonWorkingDay, WorkingCalendar

from .base import ConfigAdmin, ScopedInline


class NonWorkingDayInline(ScopedInline):
    model = NonWorkingDay
    extra = 1


@admin.register(WorkingCalendar)
class WorkingCalendarAdmin(ConfigAdmin):
    """Shifts per weekday in the site's time zone: SLA clocks and projected completions count
    only the time inside them."""

    save_service = staticmethod(services.save_calendar)
    list_display = ["site", "shifts"]

    def get_readonly_fields(self, request, obj=None):
        # A calendar belongs to its site: its clocks and projections are that site's.
        return (*super().get_readonly_fields(request, obj), *(("site",) if obj else ()))

    list_select_related = ["site"]
    inlines = [NonWorkingDayInline]
    fieldsets = [
        (
            None,
            {
                "fields": ["site", "shifts", "shift_changes"],
                "description": _(
                    "Weekday 0 = Monday. Example (three shifts Monday 06:00 to Saturday 06:00): "
                    '{"0": [["06:00", "24:00"]], "1": [["00:00", "24:00"]], ..., '
                    '"5": [["00:00", "06:00"]]}. A site without a calendar works around the clock.'
                ),
            },
        )
    ]
