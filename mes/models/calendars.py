"""Site working calendars: when a site works (shifts per weekday, closed days)."""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.models import HistoricalRecords

from .base import HistoryAuditFields, SiteScopedQuerySet
from .sites import Site

_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def calendar_problems(shifts) -> list[str]:
    if not isinstance(shifts, dict):
        return [_('Use {"0": [["06:00", "14:00"]], ...} with 0 = Monday.')]
    problems = []
    for day, intervals in shifts.items():
        if str(day) not in {str(i) for i in range(7)} or not isinstance(intervals, list):
            problems.append(
                _("Day %(d)s: use 0 (Monday) to 6 with a list of intervals.") % {"d": day}
            )
            continue
        for interval in intervals:
            ok = (
                isinstance(interval, list | tuple)
                and len(interval) == 2
                and all(isinstance(t, str) and _TIME.match(t) for t in interval)
                and interval[0] < interval[1]
                and interval[1] <= "24:00"
            )
            if not ok:
                problems.append(
                    _("Day %(d)s: %(i)r is not [start, end] with HH:MM times.")
                    % {"d": day, "i": interval}
                )
    return problems


class WorkingCalendar(models.Model):
    """When a site works. ``shifts`` maps weekday (0 = Monday) to ``[["06:00", "22:00"], ...]``
    in the site's time zone ("24:00" ends at midnight). No calendar: the clock never stops.
    It drives the SLA clocks of exceptions and the projected completion of work orders."""

    site_path = "site"

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="calendar")
    shifts = models.JSONField(gettext_lazy("weekly shifts"), default=dict)
    shift_changes = models.CharField(
        gettext_lazy("shift changes"),
        max_length=100,
        blank=True,
        help_text=gettext_lazy(
            "When one crew hands over to the next, every day, e.g. 06:00 14:00 22:00: the "
            "shifts of OEE. Empty: one shift a day from midnight."
        ),
    )

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        verbose_name = gettext_lazy("working calendar")
        verbose_name_plural = gettext_lazy("working calendars")

    def __str__(self) -> str:
        return str(self.site)

    def clean(self) -> None:
        problems = calendar_problems(self.shifts)
        if problems:
            raise ValidationError({"shifts": problems})
        bad = [t for t in self.shift_changes.split() if not _TIME.match(t) or t >= "24:00"]
        if bad:
            raise ValidationError(
                {
                    "shift_changes": _("Use HH:MM times apart by spaces: %(t)s")
                    % {"t": " ".join(bad)}
                }
            )

    def shift_starts(self) -> list[int]:
        """Minutes after midnight at which a shift starts, in order."""
        times = sorted({t for t in self.shift_changes.split() if _TIME.match(t) and t < "24:00"})
        return [int(t[:2]) * 60 + int(t[3:]) for t in times] or [0]


class NonWorkingDay(models.Model):
    """A day the site does not work although its shifts say it would (holidays, shutdowns)."""

    site_path = "calendar__site"

    calendar = models.ForeignKey(
        WorkingCalendar, on_delete=models.CASCADE, related_name="closed_days"
    )
    date = models.DateField(gettext_lazy("date"))
    reason = models.CharField(gettext_lazy("reason"), max_length=200, blank=True)

    objects = SiteScopedQuerySet.as_manager()
    history = HistoricalRecords(bases=[HistoryAuditFields])

    class Meta:
        ordering = ["date"]
        verbose_name = gettext_lazy("non-working day")
        verbose_name_plural = gettext_lazy("non-working days")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="closed_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"
