"""The live board: its SLA colouring, grouping by work center, and the outbox subscriber that
hints open boards to refresh."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from mes.models import OutboxEvent, WorkCenter

from .models import ExceptionTicket, WorkflowState

log = logging.getLogger(__name__)

SUBSCRIBER = "exceptions.board"
DUE_SOON = datetime.timedelta(minutes=15)

BREACHED, DUE_SOON_STATE, OK, PAUSED = "breached", "due-soon", "ok", "paused"


def sla_state(ticket: ExceptionTicket, now: datetime.datetime | None = None) -> str:
    """``breached``, ``due-soon`` (within 15 minutes), ``ok`` or ``paused``; mirrors
    :meth:`ExceptionQuerySet.sla_breached` / ``sla_due_within``."""
    Phase = WorkflowState.Phase
    if ticket.sla_paused_since is not None:
        return PAUSED
    if ticket.phase in (Phase.RESOLVED, Phase.CLOSED, Phase.CANCELLED):
        return OK
    now = now or timezone.now()
    dues = [ticket.resolve_due_at]
    if ticket.acknowledged_at is None:
        dues.append(ticket.ack_due_at)
    dues = [d for d in dues if d is not None]
    if any(d < now for d in dues):
        return BREACHED
    if any(d <= now + DUE_SOON for d in dues):
        return DUE_SOON_STATE
    return OK


@dataclass
class Lane:
    work_center: WorkCenter | None
    tickets: list = field(default_factory=list)

    @property
    def breached(self) -> int:
        return sum(1 for t in self.tickets if t.sla_state == BREACHED)


def lanes(tickets, now: datetime.datetime | None = None) -> list[Lane]:
    """Tickets grouped by work center (by code; "no work center" last), each with ``sla_state``."""
    now = now or timezone.now()
    by_wc: dict[int | None, Lane] = {}
    for t in tickets:
        t.sla_state = sla_state(t, now)
        lane = by_wc.setdefault(t.work_center_id, Lane(t.work_center))
        lane.tickets.append(t)
    return sorted(by_wc.values(), key=_lane_order)


def _lane_order(lane: Lane) -> tuple[bool, str]:
    return (lane.work_center is None, getattr(lane.work_center, "code", ""))


def hint(event: OutboxEvent) -> dict:
    return {
        "type": "board.changed",
        "exception_id": int(event.aggregate_id)
        if event.aggregate_type == "exceptionticket"
        and event.aggregate_id.isascii()
        and event.aggregate_id.isdigit()
        else None,
        "number": (event.payload or {}).get("number"),
    }


def on_exception_events(events: list[OutboxEvent]) -> None:
    """Outbox subscriber (a batch at a time): after commit, hint each site's open boards that
    a ticket changed, once per site however many of its events the batch holds (a board
    reloads itself on any hint; the hint names the latest)."""
    latest = {event.site_id: hint(event) for event in events if event.site_id is not None}
    if latest:
        transaction.on_commit(lambda: push_all(latest))


def push_all(hints: dict[int, dict]) -> None:
    """Group-send the hints in one event loop; never fails the caller (pushes are hints)."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_all)(layer, hints)
    except Exception:
        log.exception("could not push board hints to sites %s", sorted(hints))


async def _send_all(layer, hints: dict[int, dict]) -> None:
    from .consumers import board_group

    for site_id, message in hints.items():
        try:
            await layer.group_send(board_group(site_id), message)
        except Exception:
            log.exception("could not push a board hint to site %s", site_id)
