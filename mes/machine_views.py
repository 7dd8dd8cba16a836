"""The machines' pages: the floor says why a machine was down (big buttons from the reason
tree, on the floor page and here), and the OEE of a site per work center and shift with a
downtime Pareto (charts drawn on the server as SVG: nothing loaded from elsewhere)."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST, require_safe

from mes import oee, services
from mes.errors import DomainError
from mes.models import Downtime, DowntimeReason
from mes.pages import list_export, refused, render_page, site_or_404, visible, visible_or_404

VIEW_PERM = "mes.view_downtime"


@dataclass(frozen=True)
class Branch:
    """A top branch of the reason tree with the leaves under it (at any depth)."""

    reason: DowntimeReason
    leaves: list[DowntimeReason]


def reason_branches() -> list[Branch]:
    reasons = list(DowntimeReason.objects.filter(is_active=True))
    children: dict[int | None, list[DowntimeReason]] = {}
    for r in reasons:
        children.setdefault(r.parent_id, []).append(r)

    def leaves(node):
        below = children.get(node.pk, [])
        return [node] if not below else [leaf for c in below for leaf in leaves(c)]

    return [Branch(top, leaves(top)) for top in children.get(None, [])]


DOWNTIME_COLUMNS = [
    (_l("number"), lambda d: d.number),
    (_l("machine"), lambda d: d.machine.code),
    (_l("state"), lambda d: d.state),
    (_l("started"), lambda d: d.started_at),
    (_l("ended"), lambda d: d.ended_at),
    (_l("work order"), lambda d: d.work_order.erp_number if d.work_order else ""),
    (_l("reason"), lambda d: d.reason.code if d.reason else ""),
    (_l("reason by"), lambda d: d.reason_by.get_username() if d.reason_by else ""),
    (_l("note"), lambda d: d.note),
]


@require_safe
@login_required
def downtime_list(request: HttpRequest, site_code: str) -> HttpResponse:
    site = site_or_404(request, site_code)
    if not request.user.has_perm(VIEW_PERM):
        raise PermissionDenied
    downtimes = (
        visible(request, Downtime)
        .filter(site=site)
        .select_related("machine", "reason", "reason_by", "work_order")
        .order_by("-started_at")
    )
    exported = list_export(
        request, f"downtimes-{site.code}", DOWNTIME_COLUMNS, downtimes.iterator(500)
    )
    if exported is not None:
        return exported
    downtimes = downtimes[:100]
    return render_page(
        request,
        "mes/downtimes.html",
        {"site": site, "downtimes": downtimes, "branches": reason_branches()},
    )


@require_POST
@login_required
def downtime_reason(request: HttpRequest, pk: int) -> HttpResponse:
    downtime = visible_or_404(request, Downtime, pk=pk)
    reason = DowntimeReason.objects.filter(code=request.POST.get("reason", "")).first()
    try:
        services.set_downtime_reason(
            downtime, actor=request.user, reason_code=reason, note=request.POST.get("note", "")
        )
    except DomainError as exc:
        refused(request, exc)
    else:
        messages.success(
            request,
            _("%(machine)s: %(reason)s") % {"machine": downtime.machine.code, "reason": reason},
        )
    if request.POST.get("next") == "floor":
        return redirect("floor", site_code=downtime.site.code)
    return redirect("downtimes", site_code=downtime.site.code)


def _date(text: str | None):
    try:
        return parse_date(text or "")
    except ValueError:  # well formed, impossible: 2026-13-01
        return None


def parse_window(site, params) -> tuple[datetime.date, datetime.date, str]:
    """``from``/``to`` local dates (inclusive; default the last seven days) and a problem."""
    tz = zoneinfo.ZoneInfo(site.timezone)
    today = timezone.now().astimezone(tz).date()
    week = today - datetime.timedelta(days=6)
    start = _date(params["from"]) if params.get("from") else week
    end = _date(params["to"]) if params.get("to") else max(today, start or today)
    if start is None or end is None:
        return week, today, _("Dates are YYYY-MM-DD.")
    if end < start:
        return start, start, _("The end is before the start.")
    if (end - start).days + 1 > oee.MAX_DAYS:
        last = start + datetime.timedelta(days=oee.MAX_DAYS - 1)
        return start, last, _("At most %(n)s days at once.") % {"n": oee.MAX_DAYS}
    return start, end, ""


def window_utc(site, start: datetime.date, end: datetime.date):
    tz = zoneinfo.ZoneInfo(site.timezone)
    a = datetime.datetime.combine(start, datetime.time(0), tzinfo=tz)
    b = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(0), tzinfo=tz)
    return a.astimezone(datetime.UTC), b.astimezone(datetime.UTC)


def bars(rows, *, key="oee", height=120, width=24, gap=6):
    """SVG geometry of one bar per row (its ``key`` ratio, capped at 100 % on the chart)."""
    out = []
    for i, row in enumerate(rows):
        value = getattr(row, key)
        h = 0 if value is None else round(min(value, 1.0) * height, 1)
        out.append(
            {"x": i * (width + gap), "y": height - h, "h": h, "w": width, "row": row, "v": value}
        )
    return {"bars": out, "width": max(len(rows) * (width + gap), width), "height": height}


def pareto_bars(rows, *, width=300):
    top = max((r["minutes"] for r in rows), default=0) or 1
    return [
        {**r, "w": round(r["minutes"] / top * width, 1), "y": i * 28} for i, r in enumerate(rows)
    ]


@require_safe
@login_required
def oee_page(request: HttpRequest, site_code: str) -> HttpResponse:
    site = site_or_404(request, site_code)
    if not request.user.has_perm(VIEW_PERM):
        raise PermissionDenied
    start, end, problem = parse_window(site, request.GET)
    a, b = window_utc(site, start, end)
    result = oee.report(site, a, b)
    centers = [
        {"total": c, "chart": bars(result["work_center_shifts"].get(c.label, []))}
        for c in result["work_centers"]
    ]
    pareto = oee.downtime_pareto(site, a, b)
    return render_page(
        request,
        "mes/oee.html",
        {
            "site": site,
            "start": start,
            "end": end,
            "problem": problem,
            "total": result["site"],
            "centers": centers,
            "pareto": pareto_bars(pareto),
            "pareto_height": max(len(pareto) * 28, 28),
        },
        status=400 if problem else 200,
    )
