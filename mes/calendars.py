"""Working time on a site's calendar: the moment N working minutes after another, and the
working minutes between two moments. Used by the SLA clocks (exceptions) and the projected
completion of work orders; a site without a calendar works around the clock."""

from __future__ import annotations

import datetime
import zoneinfo

from mes import config_cache
from mes.models import WorkingCalendar
from mes.models.calendars import calendar_problems

__all__ = ["AroundTheClock", "Calendar", "calendar_for", "calendar_problems"]

MAX_DAYS = 400  # a calendar with no working time at all must not loop forever


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


class Calendar:
    """Working intervals of one site, in UTC, day by day."""

    def __init__(self, site_tz: str, shifts: dict, closed: set[datetime.date]):
        self.tz = zoneinfo.ZoneInfo(site_tz)
        self.shifts = {
            int(k): [(_minutes(a), _minutes(b)) for a, b in v] for k, v in shifts.items()
        }
        self.closed = closed

    def intervals(self, day: datetime.date):
        if day in self.closed:
            return
        midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=self.tz)
        for start, end in self.shifts.get(day.weekday(), []):
            a = (midnight + datetime.timedelta(minutes=start)).astimezone(datetime.UTC)
            b = (midnight + datetime.timedelta(minutes=end)).astimezone(datetime.UTC)
            yield a, b

    def add(self, start: datetime.datetime, minutes: float) -> datetime.datetime | None:
        """The moment ``minutes`` of working time after ``start``."""
        remaining = datetime.timedelta(minutes=minutes)
        day = start.astimezone(self.tz).date() - datetime.timedelta(days=1)
        for _day in range(MAX_DAYS):
            for a, b in self.intervals(day):
                a = max(a, start)
                if b <= a:
                    continue
                if b - a >= remaining:
                    return a + remaining
                remaining -= b - a
            day += datetime.timedelta(days=1)
        return None

    def between(self, start: datetime.datetime, end: datetime.datetime) -> float:
        """Working minutes between two moments."""
        if end <= start:
            return 0.0
        total = datetime.timedelta()
        day = start.astimezone(self.tz).date() - datetime.timedelta(days=1)
        last = end.astimezone(self.tz).date()
        while day <= last:
            for a, b in self.intervals(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += datetime.timedelta(days=1)
        return total.total_seconds() / 60


class AroundTheClock:
    def add(self, start, minutes):
        return start + datetime.timedelta(minutes=minutes)

    def between(self, start, end):
        return max((end - start).total_seconds() / 60, 0.0)


def calendar_for(site) -> Calendar | AroundTheClock:
    """The site's working calendar, kept until the configuration changes (shared: read-only)."""
    return config_cache.cached(("calendar", site.pk), lambda: _load_calendar(site))


def _load_calendar(site) -> Calendar | AroundTheClock:
    calendar = (
        WorkingCalendar.objects.filter(site_id=site.pk).prefetch_related("closed_days").first()
    )
    if calendar is None:
        return AroundTheClock()
    return Calendar(site.timezone, calendar.shifts, {d.date for d in calendar.closed_days.all()})
