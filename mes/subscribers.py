"""What the production core does with outbox events: keep work orders' projected completion
current (:mod:`mes.projection`), also when a site's calendar changes, and tell a site's
supervisors and planners of holds and resumes (notification producers)."""

from django.urls import reverse
from django.utils.translation import gettext as _

from mes.choices import WorkOrderStatus
from mes.models import OutboxEvent, WorkOrder
from mes.notifications import Message, actor_ids, chunk_memo, producers, site_members
from mes.outbox import subscribers
from mes.services import reproject_work_orders

PROJECTION_TRIGGERS = (
    "operation.started",
    "operation.confirmed",
    "work_order.released",
    "work_order.resumed",
    "work_order.revised",
)


# A chunk of events locks its work orders in one statement, in key order (as every batch
# does), for as long as PROJECTION_CHUNK projections take: a user's change waits at most that.
PROJECTION_CHUNK = 20


@subscribers.register(
    "projection", patterns=PROJECTION_TRIGGERS, batch=True, chunk=PROJECTION_CHUNK
)
def reproject_on_progress(events: list[OutboxEvent]) -> None:
    """Progress or a new routing moves the projection of the events' work orders: each is
    projected once from its state now, however many of the chunk's events name it."""
    ids = {
        event.payload.get("work_order_id") if isinstance(event.payload, dict) else None
        for event in events
    }
    ids.discard(None)
    if ids:
        reproject_work_orders(ids)


@subscribers.register("projection.calendar", patterns=["calendar.changed"], chunk=1)
def reproject_site(event: OutboxEvent) -> None:
    """A site's working time changed: every open order there is projected again."""
    open_orders = WorkOrder.objects.filter(
        site_id=event.site_id, status__in=[WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS]
    )
    reproject_work_orders(open_orders.values_list("pk", flat=True))


# --- producers: work orders ---------------------------------------------------------------

HOLD_ROLES = ("supervisor", "planner")


WORK_ORDER_MESSAGES = ("work_order.held", "work_order.resumed")


def _work_order_of(event: OutboxEvent) -> int | None:
    pk = event.payload.get("work_order_id") if isinstance(event.payload, dict) else None
    pk = pk or event.aggregate_id
    return int(pk) if str(pk).isdigit() else None


def _message_work_order(event: OutboxEvent) -> WorkOrder | None:
    """The event's work order with its site and item; in a chunk, every work order the
    chunk's hold and resume events name, read at once."""
    pk, memo = _work_order_of(event), chunk_memo()
    orders = WorkOrder.objects.select_related("site", "item")
    if memo is None:  # outside the subscriber's chunk
        return orders.filter(pk=pk).first()
    if "work_orders" not in memo:
        ids = {_work_order_of(e) for e in memo["events"] if e.type in WORK_ORDER_MESSAGES}
        memo["work_orders"] = orders.in_bulk(ids - {None})
    return memo["work_orders"].get(pk)


def _work_order_message(kind: str, event: OutboxEvent, prefix: str) -> list[Message]:
    wo = _message_work_order(event)
    if wo is None:
        return []
    return [
        Message(
            kind,
            site_members(wo.site_id, HOLD_ROLES),
            roles=HOLD_ROLES,
            title=f"{prefix}: {wo.erp_number} ({wo.item.code})",
            body=event.reason,
            link=reverse("work-order", args=[wo.pk]),
            site=wo.site,
            related=wo,
            exclude=actor_ids(event),
        )
    ]


@producers.register("work_order.held")
def work_order_held(event: OutboxEvent) -> list[Message]:
    return _work_order_message("hold_placed", event, _("On hold"))


@producers.register("work_order.resumed")
def work_order_resumed(event: OutboxEvent) -> list[Message]:
    return _work_order_message("hold_released", event, _("Resumed"))
