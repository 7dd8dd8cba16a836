"""The execution audit: for a site and a period, every exception, how it was communicated,
what was decided and by whom, and how long it took to reach the ERP. Those handled in Andon
next to those of the imported trackers, which count as "outside the system".

One query per source (the tickets with their first decision and first ERP acknowledgement as
subqueries; the imported rows), read row by row: the report streams to CSV or XLSX whatever
the period holds.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from statistics import median

from django.db.models import CharField, Min, OuterRef, Subquery
from django.db.models.functions import Cast

from exceptions.models import Decision, ExceptionTicket
from integrations.erp.models import ErpDelivery
from mes.models import Site

from .models import LegacyException

INSIDE, OUTSIDE = "andon", "outside"
HEADER = [
    "source",
    "site",
    "raised_at",
    "reference",
    "type",
    "communicated",
    "reported_by",
    "work_order",
    "decision",
    "decided_by",
    "decided_at",
    "acknowledge_minutes",
    "resolve_minutes",
    "erp_at",
    "to_erp_minutes",
]


@dataclass
class Line:
    source: str
    site: str
    raised_at: dt.datetime
    reference: str
    type: str
    communicated: str
    reported_by: str
    work_order: str
    decision: str
    decided_by: str
    decided_at: dt.datetime | None
    acknowledge_minutes: float | None
    resolve_minutes: float | None
    erp_at: dt.datetime | None

    @property
    def to_erp_minutes(self) -> float | None:
        return _minutes(self.raised_at, self.erp_at)

    def cells(self) -> list:
        values = [getattr(self, name) for name in HEADER]
        return [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]


@dataclass
class Summary:
    exceptions: Counter = field(default_factory=Counter)
    decided: Counter = field(default_factory=Counter)
    reached_erp: Counter = field(default_factory=Counter)
    to_erp: dict = field(default_factory=lambda: {INSIDE: [], OUTSIDE: []})
    communicated: Counter = field(default_factory=Counter)

    def add(self, line: Line) -> None:
        self.exceptions[line.source] += 1
        self.decided[line.source] += bool(line.decision)
        self.communicated[(line.source, line.communicated)] += 1
        if line.erp_at is not None:
            self.reached_erp[line.source] += 1
            self.to_erp[line.source].append(line.to_erp_minutes)

    def as_dict(self) -> dict:
        def share(counter, source):
            n = self.exceptions[source]
            return round(counter[source] / n, 3) if n else None

        def quiet_median(values):
            return round(median(values), 1) if values else None

        return {
            source: {
                "exceptions": self.exceptions[source],
                "decision_recorded": share(self.decided, source),
                "reached_erp": share(self.reached_erp, source),
                "to_erp_minutes_p50": quiet_median(self.to_erp[source]),
                "communicated": {
                    channel or "—": n
                    for (s, channel), n in sorted(self.communicated.items())
                    if s == source
                },
            }
            for source in (INSIDE, OUTSIDE)
        }


PERMS = ("legacy.view_legacyexception", "exceptions.view_exceptionticket")
MAX_DAYS = 92


def window(site: Site, params) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """``from``/``to``: local dates of the site, inclusive (default: the last 30 days), at
    most a quarter; and the same as UTC instants [start, end)."""
    import zoneinfo

    from django.utils import timezone
    from django.utils.dateparse import parse_date
    from django.utils.translation import gettext as _

    from mes.errors import InvalidInput

    tz = zoneinfo.ZoneInfo(site.timezone)
    today = timezone.now().astimezone(tz).date()
    try:
        first = parse_date(params["from"]) if params.get("from") else today - dt.timedelta(29)
        last = parse_date(params["to"]) if params.get("to") else today
    except ValueError:
        first = last = None
    if first is None or last is None:
        raise InvalidInput(_("Dates are YYYY-MM-DD."), code="invalid_date")
    if last < first or (last - first).days >= MAX_DAYS:
        raise InvalidInput(
            _("From a start to an end at most %(n)s days later.") % {"n": MAX_DAYS},
            code="invalid_window",
        )
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return first, last, start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _minutes(start, end) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 1)


def lines(user, site: Site, start: dt.datetime, end: dt.datetime) -> Iterator[Line]:
    """Every exception of ``site`` raised in [start, end): Andon's first, then the imported."""
    first_decision = Decision.objects.filter(exception=OuterRef("pk")).order_by("decided_at", "pk")
    first_ack = (
        ErpDelivery.objects.filter(
            event__aggregate_type=ExceptionTicket._meta.model_name,
            event__aggregate_id=Cast(OuterRef("pk"), CharField()),
            acknowledged_at__isnull=False,
        )
        .values("event__aggregate_id")
        .annotate(first=Min("acknowledged_at"))
        .values("first")
    )
    tickets = (
        ExceptionTicket.objects.visible_to(user)
        .filter(site=site, raised_at__gte=start, raised_at__lt=end)
        .annotate(
            decision_text=Subquery(first_decision.values("decision")[:1]),
            decided_by_name=Subquery(first_decision.values("decided_by__username")[:1]),
            decided=Subquery(first_decision.values("decided_at")[:1]),
            erp_at=Subquery(first_ack[:1]),
        )
        .values(
            "number",
            "type__name",
            "raised_via",
            "raised_by__username",
            "work_order__erp_number",
            "raised_at",
            "acknowledged_at",
            "resolved_at",
            "decision_text",
            "decided_by_name",
            "decided",
            "erp_at",
        )
        .order_by("raised_at", "pk")
    )
    for t in tickets.iterator(chunk_size=2000):
        yield Line(
            source=INSIDE,
            site=site.code,
            raised_at=t["raised_at"],
            reference=t["number"],
            type=t["type__name"],
            communicated=t["raised_via"],
            reported_by=t["raised_by__username"] or "",
            work_order=t["work_order__erp_number"] or "",
            decision=t["decision_text"] or "",
            decided_by=t["decided_by_name"] or "",
            decided_at=t["decided"],
            acknowledge_minutes=_minutes(t["raised_at"], t["acknowledged_at"]),
            resolve_minutes=_minutes(t["raised_at"], t["resolved_at"]),
            erp_at=t["erp_at"],
        )
    outside = (
        LegacyException.objects.visible_to(user)
        .filter(site=site, raised_at__gte=start, raised_at__lt=end)
        .values(
            "pk",
            "raised_at",
            "type_text",
            "reported_via",
            "reported_by",
            "work_order_text",
            "decision",
            "decided_by",
            "erp_updated_at",
            "job__filename",
            "row",
        )
        .order_by("raised_at", "pk")
    )
    for r in outside.iterator(chunk_size=2000):
        yield Line(
            source=OUTSIDE,
            site=site.code,
            raised_at=r["raised_at"],
            reference=f"{r['job__filename']}:{r['row']}",
            type=r["type_text"],
            communicated=r["reported_via"],
            reported_by=r["reported_by"],
            work_order=r["work_order_text"],
            decision=r["decision"],
            decided_by=r["decided_by"],
            decided_at=None,
            acknowledge_minutes=None,
            resolve_minutes=None,
            erp_at=r["erp_updated_at"],
        )


def report(user, site: Site, start: dt.datetime, end: dt.datetime, *, limit: int = 200):
    """The summary of the period and the first ``limit`` lines of each source (the export
    has them all)."""
    summary, shown, per = Summary(), [], Counter()
    for line in lines(user, site, start, end):
        summary.add(line)
        per[line.source] += 1
        if per[line.source] <= limit:
            shown.append(line)
    return summary, shown
