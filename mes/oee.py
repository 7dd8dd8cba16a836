"""OEE (overall equipment effectiveness) of machines, work centers and shifts, from the
site's calendar, the machines' state spans, their downtimes' reasons and their counts.

For a window (a shift, a day, a week), for one machine:

- **planned time**: the calendar's working time in the window, less the downtimes whose
  reason is a planned one (breaks, planned maintenance) within it;
- **run time**: the time the machine was *running* within the calendar's working time;
- **availability** = run time / planned time;
- **performance** = the machine's ideal cycle × pieces / run time;
- **quality** = good / (good + scrap);
- **OEE** = availability × performance × quality (= ideal cycle × good / planned time).

A work center or a shift adds its machines' times and pieces before dividing. A ratio whose
denominator is zero (nothing planned, nothing run, nothing counted) is ``None``, never 0 or
100 %; performance is ``None`` when a machine has no ideal cycle. Spans still open count up
to ``now``. Pieces count in the minute they were made, if it is working time.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q, Sum
from django.utils import timezone

from mes.calendars import calendar_for
from mes.models import (
    Downtime,
    Machine,
    MachineCount,
    MachineState,
    MachineStateSpan,
    WorkingCalendar,
)

MAX_DAYS = 31


@dataclass
class Oee:
    label: str = ""
    planned_s: float = 0.0
    run_s: float = 0.0
    ideal_s: float | None = 0.0  # ideal cycle × pieces; None: some machine has no ideal
    good: int = 0
    scrap: int = 0
    down_s: float = 0.0
    machines: list = field(default_factory=list)

    def add(self, other: Oee) -> None:
        self.planned_s += other.planned_s
        self.run_s += other.run_s
        self.down_s += other.down_s
        self.good += other.good
        self.scrap += other.scrap
        if self.ideal_s is None or other.ideal_s is None:
            self.ideal_s = None
        else:
            self.ideal_s += other.ideal_s

    @property
    def availability(self) -> float | None:
        return _ratio(self.run_s, self.planned_s)

    @property
    def performance(self) -> float | None:
        return None if self.ideal_s is None else _ratio(self.ideal_s, self.run_s)

    @property
    def quality(self) -> float | None:
        return _ratio(self.good, self.good + self.scrap)

    @property
    def oee(self) -> float | None:
        parts = (self.availability, self.performance, self.quality)
        if any(p is None for p in parts):
            return None
        return parts[0] * parts[1] * parts[2]

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "planned_minutes": round(self.planned_s / 60, 2),
            "run_minutes": round(self.run_s / 60, 2),
            "down_minutes": round(self.down_s / 60, 2),
            "good": self.good,
            "scrap": self.scrap,
            **{k: _round(getattr(self, k)) for k in ("availability", "performance", "quality")},
            "oee": _round(self.oee),
        }


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _overlap(intervals, a: datetime.datetime, b: datetime.datetime) -> float:
    """Seconds of [a, b) inside the (sorted, disjoint) intervals."""
    total = 0.0
    for lo, hi in intervals:
        lo, hi = max(lo, a), min(hi, b)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def working_intervals(site, start, end) -> list[tuple[datetime.datetime, datetime.datetime]]:
    calendar = calendar_for(site)
    if not hasattr(calendar, "intervals"):
        return [(start, end)]
    found = []
    day = start.astimezone(calendar.tz).date() - datetime.timedelta(days=1)
    while day <= end.astimezone(calendar.tz).date():
        for a, b in calendar.intervals(day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                found.append((lo, hi))
        day += datetime.timedelta(days=1)
    return found


def shift_windows(site, start, end) -> list[tuple[str, datetime.datetime, datetime.datetime]]:
    """The site's shifts (from its calendar's shift changes) overlapping [start, end),
    labelled with their local start, each cut to the window."""
    tz = zoneinfo.ZoneInfo(site.timezone)
    cal = WorkingCalendar.objects.filter(site_id=site.pk).only("shift_changes").first()
    starts = cal.shift_starts() if cal else [0]
    day = start.astimezone(tz).date() - datetime.timedelta(days=1)
    moments = []
    while day <= end.astimezone(tz).date() + datetime.timedelta(days=1):
        midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=tz)
        moments += [midnight + datetime.timedelta(minutes=m) for m in starts]
        day += datetime.timedelta(days=1)
    windows = []
    for a, b in zip(moments, moments[1:], strict=False):
        lo, hi = max(a.astimezone(datetime.UTC), start), min(b.astimezone(datetime.UTC), end)
        if hi > lo:
            windows.append((a.strftime("%a %d.%m %H:%M"), lo, hi))
    return windows


def machine_oee(machines: list[Machine], start, end, *, now=None) -> dict[int, Oee]:
    """Each machine's OEE in [start, end): three queries whatever the number of machines."""
    now = now or timezone.now()
    end_seen = min(end, now)
    ids = [m.pk for m in machines]
    result = {m.pk: Oee(label=m.code, ideal_s=0.0) for m in machines}
    working = {}
    for m in machines:
        if m.site_id not in working:
            working[m.site_id] = working_intervals(m.site, start, end)
    overlapping = Q(started_at__lt=end) & (Q(ended_at__isnull=True) | Q(ended_at__gt=start))
    spans = MachineStateSpan.objects.filter(overlapping, machine_id__in=ids).values_list(
        "machine_id", "state", "started_at", "ended_at"
    )
    by_machine = {m.pk: m for m in machines}
    for machine_id, state, a, b in spans:
        seconds = _overlap(working[by_machine[machine_id].site_id], a, b or end_seen)
        if state == MachineState.RUNNING:
            result[machine_id].run_s += seconds
    planned_stops = defaultdict(float)
    downtimes = Downtime.objects.filter(overlapping, machine_id__in=ids).values_list(
        "machine_id", "started_at", "ended_at", "reason__planned"
    )
    for machine_id, a, b, planned in downtimes:
        seconds = _overlap(working[by_machine[machine_id].site_id], a, b or end_seen)
        if planned:
            planned_stops[machine_id] += seconds
        else:
            result[machine_id].down_s += seconds
    in_working_time = Q(pk__in=[])
    for intervals in working.values():
        for lo, hi in intervals:
            in_working_time |= Q(minute__gte=lo, minute__lt=hi)
    counts = (
        MachineCount.objects.filter(in_working_time, machine_id__in=ids)
        .values("machine_id")
        .annotate(good=Sum("good"), scrap=Sum("scrap"))
    )
    for row in counts:
        result[row["machine_id"]].good = row["good"] or 0
        result[row["machine_id"]].scrap = row["scrap"] or 0
    for m in machines:
        row = result[m.pk]
        row.planned_s = _overlap(working[m.site_id], start, end) - planned_stops[m.pk]
        ideal = m.ideal_cycle_seconds
        row.ideal_s = None if ideal is None else float(ideal) * (row.good + row.scrap)
    return result


def report(site, start, end, *, now=None) -> dict:
    """The site's OEE in [start, end): per machine, per work center (with its shifts), per
    shift, and the site's total."""
    if end - start > datetime.timedelta(days=MAX_DAYS):
        raise ValueError(f"at most {MAX_DAYS} days")
    machines = list(
        Machine.objects.filter(site=site, is_active=True)
        .select_related("site", "work_center")
        .order_by("work_center__code", "code")
    )
    per_machine = machine_oee(machines, start, end, now=now)
    centers: dict[str, Oee] = {}
    total = Oee(label=site.code)
    for m in machines:
        center = centers.setdefault(m.work_center.code, Oee(label=m.work_center.code))
        center.add(per_machine[m.pk])
        center.machines.append(per_machine[m.pk])
        total.add(per_machine[m.pk])
    shifts, center_shifts = [], defaultdict(list)
    for label, a, b in shift_windows(site, start, end):
        shift = Oee(label=label)
        by_center: dict[str, Oee] = {}
        for m, row in zip(machines, machine_oee(machines, a, b, now=now).values(), strict=True):
            shift.add(row)
            by_center.setdefault(m.work_center.code, Oee(label=label)).add(row)
        shifts.append(shift)
        for code, row in by_center.items():
            center_shifts[code].append(row)
    return {
        "site": total,
        "work_centers": list(centers.values()),
        "shifts": shifts,
        "work_center_shifts": dict(center_shifts),
    }


def downtime_pareto(site, start, end, *, now=None) -> list[dict]:
    """Downtime minutes in [start, end) by reason, the largest first, with the running share
    (a downtime nobody gave a reason is its own bar)."""
    now = now or timezone.now()
    overlapping = Q(started_at__lt=end) & (Q(ended_at__isnull=True) | Q(ended_at__gt=start))
    rows = Downtime.objects.filter(overlapping, site=site).values_list(
        "started_at", "ended_at", "reason__code", "reason__name"
    )
    minutes: dict[tuple, float] = defaultdict(float)
    counts: dict[tuple, int] = defaultdict(int)
    for a, b, code, name in rows:
        key = (code or "", name or "")
        minutes[key] += _overlap([(start, min(end, now))], a, b or now) / 60
        counts[key] += 1
    total = sum(minutes.values()) or 1.0
    running, bars = 0.0, []
    for (code, name), value in sorted(minutes.items(), key=lambda kv: -kv[1]):
        running += value
        bars.append(
            {
                "code": code,
                "name": name,
                "minutes": round(value, 1),
                "count": counts[code, name],
                "cumulative": round(running / total, 4),
            }
        )
    return bars
