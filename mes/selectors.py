"""Read queries behind the floor pages: always scoped by ``visible_to``, with flat query counts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q, Sum
from django.utils import timezone

from mes.choices import OperationStatus
from mes.models import Confirmation, Downtime, Operation, Site, WorkCenter, WorkOrder


@dataclass
class SiteSummary:
    """One site card on the home page."""

    site: Site
    running: int = 0
    queued: int = 0
    behind: int = 0


@dataclass
class WorkCenterQueue:
    """A work center and its queued operations in dispatch order (rank 1 first)."""

    work_center: WorkCenter
    operations: list[Operation] = field(default_factory=list)


@dataclass
class FloorBoard:
    """What is running, queued and behind at one site."""

    site: Site
    running: list[Operation]
    queues: list[WorkCenterQueue]
    behind: list[WorkOrder]
    downtimes: list = field(default_factory=list)  # waiting for the floor's reason

    @property
    def queued_count(self) -> int:
        return sum(len(q.operations) for q in self.queues)


def visible_sites(user) -> list[Site]:
    """Active sites the user may read, by code."""
    return list(Site.objects.visible_to(user).filter(is_active=True).order_by("code"))


def site_summaries(user) -> list[SiteSummary]:
    """Each visible site with its running, queued and behind counts (three grouped queries)."""
    summaries = {site.pk: SiteSummary(site) for site in visible_sites(user)}
    if not summaries:
        return []
    running = Q(status=OperationStatus.IN_PROGRESS)
    queued = Q(dispatch_rank__isnull=False)
    op_counts = (
        Operation.objects.visible_to(user)
        .filter(work_order__site__in=summaries)
        .filter(running | queued)
        .values("work_order__site")
        .annotate(running=Count("pk", filter=running), queued=Count("pk", filter=queued))
        .order_by()
    )
    for row in op_counts:
        summary = summaries[row["work_order__site"]]
        summary.running, summary.queued = row["running"], row["queued"]
    behind_counts = (
        WorkOrder.objects.visible_to(user)
        .filter(site__in=summaries)
        .behind()
        .values("site")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in behind_counts:
        summaries[row["site"]].behind = row["n"]
    return list(summaries.values())


def get_visible_site(user, code: str) -> Site | None:
    return Site.objects.visible_to(user).filter(code=code).first()


def floor_board(user, site: Site) -> FloorBoard:
    """Running operations, per-work-center queues and behind orders of ``site``."""
    ops = Operation.objects.visible_to(user).filter(work_order__site=site)
    running = list(
        ops.filter(status=OperationStatus.IN_PROGRESS)
        .select_related("work_order__item", "work_order__site", "work_center", "machine")
        .order_by("work_center__code", "actual_start", "pk")
    )
    queued = list(
        ops.filter(dispatch_rank__isnull=False)
        .select_related("work_order__item", "work_order__site", "work_center")
        .order_by("work_center__code", "work_center_id", "dispatch_rank", "pk")
    )
    queues: dict[int, WorkCenterQueue] = {}
    for op in queued:
        queues.setdefault(op.work_center_id, WorkCenterQueue(op.work_center)).operations.append(op)
    behind = list(
        WorkOrder.objects.visible_to(user)
        .filter(site=site)
        .behind()
        .select_related("item", "site")
        .order_by("due_date", "priority", "erp_number")
    )
    since = timezone.now() - datetime.timedelta(hours=24)
    downtimes = list(
        Downtime.objects.visible_to(user)
        .filter(site=site, reason__isnull=True, started_at__gte=since)
        .select_related("machine", "work_order")
        .order_by("-started_at")[:20]
    )
    return FloorBoard(
        site=site,
        running=running,
        queues=list(queues.values()),
        behind=behind,
        downtimes=downtimes,
    )


def machine_states(user, site: Site) -> list:
    """The site's active machines by code, each with ``state`` and ``state_since`` (its open
    span; None: never reported) and ``down_since`` (its open downtime): one query."""
    from django.db.models import OuterRef, Subquery

    from mes.models import Machine, MachineStateSpan

    span = MachineStateSpan.objects.filter(machine=OuterRef("pk"), ended_at__isnull=True)
    downtime = Downtime.objects.filter(machine=OuterRef("pk"), ended_at__isnull=True)
    return list(
        Machine.objects.visible_to(user)
        .filter(site=site, is_active=True)
        .annotate(
            state=Subquery(span.values("state")[:1]),
            state_since=Subquery(span.values("started_at")[:1]),
            down_since=Subquery(downtime.values("started_at")[:1]),
        )
        .order_by("code")
    )


def work_order_for(user, pk: int) -> WorkOrder | None:
    return WorkOrder.objects.visible_to(user).select_related("site", "item").filter(pk=pk).first()


def work_order_operations(wo: WorkOrder) -> list[Operation]:
    """The routing with confirmed good and scrap sums per operation."""
    operations = list(
        wo.operations.select_related("work_center", "machine")
        .annotate(
            good_qty=Sum("confirmations__good_qty"), scrap_qty=Sum("confirmations__scrap_qty")
        )
        .order_by("sequence")
    )
    for op in operations:
        op.work_order = wo  # planned_minutes reads the order's quantity; no extra query
    return operations


def recent_confirmations(wo: WorkOrder, limit: int = 10) -> list[Confirmation]:
    return list(
        Confirmation.objects.filter(operation__work_order=wo)
        .select_related("operation", "machine", "confirmed_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def recent_history(wo: WorkOrder, limit: int = 20) -> list:
    return list(wo.history.select_related("history_user").all()[:limit])


def site_by_code(code) -> Site | None:
    """The site of a code, from the sites kept with the configuration (shared: read-only).
    Whether the user may see it is the caller's check."""
    from mes import config_cache

    sites = config_cache.cached("sites_by_code", lambda: {s.code: s for s in Site.objects.all()})
    return sites.get(str(code).strip())
