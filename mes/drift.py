"""Data drift: an operation that ran outside its planned time ("the operator enters 45
minutes; actual time 90"), and what it says: the routing's data is wrong (the item runs
slow or fast wherever it runs), or the machine is (a misaligned machine runs everything
about twice as long for a few weeks).

Planned minutes of an operation = setup + run per unit × (good + scrap), over all its
confirmations; actual = the machine minutes confirmed. Outside the tolerance (default ±15 %
time) is drift. A machine fault is told apart by the machine, not the item: in one ISO week
at least :data:`FAULT_MIN_RUNS` of the machine's operations ran at :data:`FAULT_RATIO` × or
more, and they are at least :data:`FAULT_SHARE` of its operations that week, whatever the
items. Consecutive such weeks are one fault (one review line, not a ticket per operation).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import median

TIME_TOLERANCE = 0.15
RATE_TOLERANCE = 0.10
FAULT_RATIO = 1.5  # beyond the band a wrong routing gives (1.2-1.6 slow is common)
FAULT_MIN_RUNS = 3
FAULT_SHARE = 0.5


@dataclass(frozen=True)
class Run:
    """One operation's confirmed run, as drift sees it."""

    operation: object  # a key: the operation's id, or (erp_number, sequence)
    item: str
    machine: str | None
    ended: dt.datetime
    planned_minutes: float
    actual_minutes: float

    @property
    def ratio(self) -> float | None:
        if not self.planned_minutes:
            return None
        return self.actual_minutes / self.planned_minutes

    @property
    def week(self) -> tuple[int, int]:
        year, week, _day = self.ended.isocalendar()
        return year, week


def outside(run: Run, tolerance: float = TIME_TOLERANCE) -> bool:
    """Outside ±``tolerance`` of its planned time (a run with no plan never is)."""
    return run.ratio is not None and abs(run.ratio - 1) > tolerance + 1e-9  # the edge is in


@dataclass
class MachineFault:
    machine: str
    weeks: list[tuple[int, int]]
    runs: list[Run] = field(default_factory=list)

    @property
    def months(self) -> list[str]:
        return sorted({f"{r.ended:%Y-%m}" for r in self.runs})

    @property
    def median_ratio(self) -> float:
        return median(r.ratio for r in self.runs)


def machine_faults(runs: list[Run]) -> list[MachineFault]:
    """The misaligned machines: per machine, the ISO weeks in which most of its operations
    (and at least three) ran at ``FAULT_RATIO`` × or more; consecutive weeks join."""
    by_week: dict[tuple[str, tuple[int, int]], list[Run]] = defaultdict(list)
    for run in runs:
        if run.machine and run.ratio is not None:
            by_week[(run.machine, run.week)].append(run)
    faulty: dict[str, list[tuple[tuple[int, int], list[Run]]]] = defaultdict(list)
    for (machine, week), week_runs in sorted(by_week.items()):
        slow = [r for r in week_runs if r.ratio >= FAULT_RATIO]
        if len(slow) >= FAULT_MIN_RUNS and len(slow) >= FAULT_SHARE * len(week_runs):
            faulty[machine].append((week, slow))
    found = []
    for machine, weeks in faulty.items():
        current = None
        for week, slow in weeks:
            if current is not None and _next_week(current.weeks[-1]) == week:
                current.weeks.append(week)
                current.runs += slow
                continue
            current = MachineFault(machine, [week], list(slow))
            found.append(current)
    return found


def _next_week(week: tuple[int, int]) -> tuple[int, int]:
    monday = dt.date.fromisocalendar(week[0], week[1], 1) + dt.timedelta(days=7)
    year, number, _day = monday.isocalendar()
    return year, number


@dataclass
class Review:
    """The discrepancy review of a period: the machine faults (one line each) and the runs
    outside tolerance that no fault explains, by item (its routing's data)."""

    faults: list[MachineFault]
    by_item: dict[str, list[Run]]


def review(runs: list[Run], tolerance_of=None) -> Review:
    """``tolerance_of(run)``: the time tolerance for a run (per work center or item, from
    the admin); by default ±15 %."""
    faults = machine_faults(runs)
    explained = {id(r) for f in faults for r in f.runs}
    in_fault = {(f.machine, w) for f in faults for w in f.weeks}
    by_item: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        if id(run) in explained or (run.machine, run.week) in in_fault and run.ratio >= 1:
            continue
        tolerance = tolerance_of(run) if tolerance_of else TIME_TOLERANCE
        if outside(run, tolerance):
            by_item[run.item].append(run)
    return Review(faults, dict(by_item))
