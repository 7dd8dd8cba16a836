"""Control charts drawn on the server as SVG: a characteristic's values over time, its spec
limits, the mean and ±3σ control limits, and the points that break Western Electric rule 1
(beyond 3σ) marked."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from statistics import mean, stdev

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .models import Characteristic, InspectionResult

POINTS = 200
WIDTH, HEIGHT, PAD = 640, 240, 36


@dataclass
class Chart:
    values: list[float] = field(default_factory=list)
    mean: float | None = None
    sigma: float | None = None
    ucl: float | None = None
    lcl: float | None = None
    breaks: list[int] = field(default_factory=list)  # indexes beyond 3σ
    out_of_spec: int = 0
    svg: SafeString = mark_safe("")  # noqa: S308 - empty


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def control_chart(characteristic: Characteristic, user, points: int = POINTS) -> Chart:
    rows = list(
        InspectionResult.objects.visible_to(user)
        .filter(characteristic=characteristic, value__isnull=False)
        .order_by("-recorded_at", "-pk")
        .values_list("value", "passed")[:points]
    )[::-1]
    chart = Chart(
        values=[float(v) for v, _ in rows], out_of_spec=sum(1 for _, ok in rows if not ok)
    )
    if len(chart.values) >= 2:
        chart.mean, chart.sigma = mean(chart.values), stdev(chart.values)
        chart.ucl, chart.lcl = chart.mean + 3 * chart.sigma, chart.mean - 3 * chart.sigma
        chart.breaks = [
            i for i, v in enumerate(chart.values) if chart.sigma and not chart.lcl <= v <= chart.ucl
        ]
    chart.svg = _svg(characteristic, chart)
    return chart


def _svg(c: Characteristic, chart: Chart) -> SafeString:
    lines = {
        "lsl": _f(c.lower_limit),
        "usl": _f(c.upper_limit),
        "mean": chart.mean,
        "ucl": chart.ucl,
        "lcl": chart.lcl,
    }
    known = [v for v in [*chart.values, *lines.values()] if v is not None]
    if not known:
        return mark_safe("")  # noqa: S308 - nothing to draw
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    low, high = low - span * 0.08, high + span * 0.08

    def y(v: float) -> float:
        return round(PAD / 2 + (high - v) / (high - low) * (HEIGHT - PAD), 1)

    def x(i: int) -> float:
        n = max(len(chart.values) - 1, 1)
        return round(PAD + i / n * (WIDTH - 1.5 * PAD), 1)

    styles = {
        "lsl": ("#b91c1c", "6 4", "LSL"),
        "usl": ("#b91c1c", "6 4", "USL"),
        "mean": ("#15803d", "", "x̄"),
        "ucl": ("#c2410c", "2 3", "UCL"),
        "lcl": ("#c2410c", "2 3", "LCL"),
    }
    guides = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-dasharray="{}"/>'
        '<text x="2" y="{}" font-size="10" fill="{}">{} {}</text>',
        (
            (PAD, WIDTH - PAD / 2, y(v), y(v), colour, dash, y(v) + 3, colour, label, f"{v:.4g}")
            for key, v in lines.items()
            if v is not None
            for colour, dash, label in [styles[key]]
        ),
    )
    path = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(chart.values))
    breaks = set(chart.breaks)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="{}" fill="{}"><title>#{}: {}</title></circle>',
        (
            (
                x(i),
                y(v),
                4 if i in breaks else 2.5,
                "#dc2626" if i in breaks else "#1d4ed8",
                i + 1,
                v,
            )
            for i, v in enumerate(chart.values)
        ),
    )
    return format_html(
        '<svg class="control-chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        "{}"
        '<polyline points="{}" fill="none" stroke="#1d4ed8" stroke-width="1.5"/>{}</svg>',
        WIDTH,
        HEIGHT,
        f"{c.name}: {len(chart.values)} values, {len(breaks)} beyond 3σ",
        guides,
        path,
        dots,
    )
