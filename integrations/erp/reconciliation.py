"""Reconciliation: what Andon confirmed against what an ERP acknowledged, and how long the ERP
took to learn of each event (the "execution gap").

- :func:`work_orders`: per work order with confirmations, the confirmations Andon recorded
  (count, good, scrap) next to those whose ``operation.confirmed`` delivery the endpoint
  acknowledged, the deliveries (of any event of the order) still pending or dead, whether the
  completion was
  acknowledged, and a ``state``: ``dead_letter``, ``pending``, ``not_sent`` (confirmations
  with no delivery yet: still in the relay, or the endpoint did not take the type then) or
  ``in_sync``. One SQL query with scalar subqueries, so it filters and pages in the database.
- :func:`time_to_erp`: per event type and site, the acknowledged deliveries of events that
  occurred since a date, with p50 / p95 / max of occurred → acknowledged, and what is still
  pending with its oldest age.

Both are scoped to the sites the user may read.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.errors import InvalidInput, NotPermitted
from mes.models import Confirmation, Site, WorkOrder

from .models import ErpDelivery, ErpEndpoint

CONFIRMED = "operation.confirmed"
COMPLETED = "work_order.completed"
STATES = ("dead_letter", "pending", "not_sent", "in_sync")
STATE_LABELS = {
    "dead_letter": gettext_lazy("dead letter"),
    "pending": gettext_lazy("pending"),
    "not_sent": gettext_lazy("not sent yet"),
    "in_sync": gettext_lazy("in sync"),
}
QTY = DecimalField(max_digits=18, decimal_places=3)


class Query:
    """The validated filters of the page and the API (``InvalidInput`` / ``NotPermitted``
    otherwise): endpoint (default: :func:`default_endpoint`), site, state, search, since."""

    def __init__(self, user, params) -> None:
        fields = {}
        self.endpoint = None
        endpoint = params.get("endpoint") or ""
        self.endpoint_given = bool(endpoint)
        if endpoint:
            if endpoint.isascii() and endpoint.isdigit():
                self.endpoint = (
                    ErpEndpoint.objects.visible_to(user).filter(pk=int(endpoint)).first()
                )
            if self.endpoint is None:
                fields["endpoint"] = [_("No such ERP endpoint.")]
        else:
            self.endpoint = default_endpoint(user)
        self.site = params.get("site") or ""
        if self.site and not Site.objects.visible_to(user).filter(code=self.site).exists():
            raise NotPermitted(_("You have no access to this site."), code="wrong_site")
        self.state = params.get("state") or ""
        if self.state and self.state not in STATES:
            fields["state"] = [_("One of: %(states)s.") % {"states": ", ".join(STATES)}]
        self.search = (params.get("search") or "").strip()[:100]
        self.since = None
        since = params.get("since") or ""
        if since:
            self.since = parse_datetime(since) or _date_start(since)
            if self.since is None:
                fields["since"] = [_("An ISO date or date-time.")]
            elif timezone.is_naive(self.since):
                self.since = timezone.make_aware(self.since)
        if fields:
            raise InvalidInput(_("Invalid filter."), code="invalid_filter", fields=fields)


def _date_start(text: str) -> datetime | None:
    try:
        day = parse_date(text)
    except ValueError:
        return None
    return datetime.combine(day, datetime.min.time()) if day else None


def default_endpoint(user) -> ErpEndpoint | None:
    """The first active endpoint the user sees that takes confirmations (the usual single
    ERP)."""
    for endpoint in ErpEndpoint.objects.visible_to(user).filter(is_active=True).order_by("pk"):
        if CONFIRMED in (endpoint.event_types or []):
            return endpoint
    return None


def _scalar(queryset: QuerySet, function: str, expression, output_field) -> Coalesce:
    """``function`` (SUM, COUNT) of ``expression`` over ``queryset``, which is correlated to
    the outer work order, as a scalar subquery; 0 when empty. A plain ``Func`` rather than an
    aggregate, so the subquery has no GROUP BY."""
    if isinstance(expression, str):
        expression = F(expression)
    total = queryset.order_by().annotate(
        v=Func(expression, function=function, output_field=output_field)
    )
    return Coalesce(
        Subquery(total.values("v")[:1], output_field=output_field),
        Value(0),
        output_field=output_field,
    )


def work_orders(user, endpoint: ErpEndpoint, *, site: str = "", state: str = "", search=""):
    """Work orders with confirmations at the user's sites, newest first, annotated with the
    reconciliation figures (see the module doc). A queryset: page it."""
    confirmations = Confirmation.objects.filter(operation__work_order=OuterRef("pk"))
    # Every event of the order counts towards pending and dead (a dead hold is out of sync
    # as much as a dead confirmation); the acknowledged figures are the confirmations'.
    deliveries = ErpDelivery.objects.filter(endpoint=endpoint, work_order=OuterRef("pk"))
    delivered = deliveries.filter(status=ErpDelivery.Status.DELIVERED, event__type=CONFIRMED)
    payload_qty = lambda key: Cast(KeyTextTransform(key, "event__payload"), QTY)  # noqa: E731
    queryset = (
        WorkOrder.objects.visible_to(user)
        .filter(Exists(Confirmation.objects.filter(operation__work_order=OuterRef("pk"))))
        .select_related("site", "item")
        .annotate(
            confirmations=_scalar(confirmations, "COUNT", "pk", IntegerField()),
            good=_scalar(confirmations, "SUM", "good_qty", QTY),
            scrap=_scalar(confirmations, "SUM", "scrap_qty", QTY),
            acknowledged=_scalar(delivered, "COUNT", "pk", IntegerField()),
            acknowledged_good=_scalar(delivered, "SUM", payload_qty("good_qty"), QTY),
            acknowledged_scrap=_scalar(delivered, "SUM", payload_qty("scrap_qty"), QTY),
            pending=_scalar(
                deliveries.filter(status=ErpDelivery.Status.PENDING), "COUNT", "pk", IntegerField()
            ),
            dead=_scalar(
                deliveries.filter(status=ErpDelivery.Status.DEAD), "COUNT", "pk", IntegerField()
            ),
            completion_acknowledged=Exists(
                ErpDelivery.objects.filter(
                    endpoint=endpoint,
                    work_order=OuterRef("pk"),
                    event__type=COMPLETED,
                    status=ErpDelivery.Status.DELIVERED,
                )
            ),
        )
        .annotate(
            state=Case(
                When(dead__gt=0, then=Value("dead_letter")),
                When(pending__gt=0, then=Value("pending")),
                When(confirmations__gt=F("acknowledged"), then=Value("not_sent")),
                default=Value("in_sync"),
            )
        )
        .order_by("-pk")
    )
    if site:
        queryset = queryset.filter(site__code=site)
    if state:
        queryset = queryset.filter(state=state)
    if search:
        queryset = queryset.filter(erp_number__icontains=search)
    return queryset


def summaries(user, *, site: str = "", search: str = "") -> list[dict]:
    """Every active endpoint the user sees that takes confirmations, with its counts per
    state: ``[{"id", "name", "states"}]`` (one query per endpoint)."""
    endpoints = ErpEndpoint.objects.visible_to(user).filter(is_active=True).order_by("pk")
    return [
        {
            "id": endpoint.pk,
            "name": endpoint.name,
            "states": state_counts(work_orders(user, endpoint, site=site, search=search)),
        }
        for endpoint in endpoints
        if CONFIRMED in (endpoint.event_types or [])
    ]


def state_counts(queryset: QuerySet) -> dict[str, int]:
    counts = dict(
        queryset.order_by().values("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    return {state: counts.get(state, 0) for state in STATES}


def percentile(ordered: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) of sorted values, linear between closest ranks."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def time_to_erp(
    user, *, since: datetime | None = None, endpoint: ErpEndpoint | None = None, site: str = ""
):
    """Per (event type, site): acknowledged count, p50/p95/max seconds from occurred to
    acknowledged, pending count and the oldest pending age in seconds. Events that occurred
    since ``since`` (default: the last 7 days)."""
    now = timezone.now()
    since = since or now - timedelta(days=7)
    sites = Site.objects.visible_to(user).values("pk")
    deliveries = ErpDelivery.objects.filter(event__occurred_at__gte=since, event__site__in=sites)
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    if site:
        deliveries = deliveries.filter(event__site__code=site)
    durations: dict[tuple, list[float]] = defaultdict(list)
    for event_type, site, acknowledged, occurred in (
        deliveries.filter(status=ErpDelivery.Status.DELIVERED)
        .values_list("event__type", "event__site__code", "acknowledged_at", "event__occurred_at")
        .iterator(chunk_size=5000)
    ):
        durations[(event_type, site)].append((acknowledged - occurred).total_seconds())
    waiting = {
        (row["event__type"], row["event__site__code"]): row
        for row in deliveries.filter(status=ErpDelivery.Status.PENDING)
        .values("event__type", "event__site__code")
        .annotate(n=Count("pk"), oldest=Min("event__occurred_at"))
        .order_by()
    }
    rows = []
    for key in sorted(set(durations) | set(waiting), key=lambda k: (k[0], k[1] or "")):
        values = sorted(durations.get(key, []))
        pending = waiting.get(key)
        rows.append(
            {
                "event_type": key[0],
                "site": key[1],
                "acknowledged": len(values),
                "p50_seconds": _round(percentile(values, 50)),
                "p95_seconds": _round(percentile(values, 95)),
                "max_seconds": _round(values[-1] if values else None),
                "pending": pending["n"] if pending else 0,
                "oldest_pending_seconds": _round(
                    (now - pending["oldest"]).total_seconds() if pending else None
                ),
            }
        )
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
