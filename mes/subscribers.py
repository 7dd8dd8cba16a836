"""What the production core does with outbox events: keep work orders' projected completion
current (:mod:`mes.projection`), also when a site's calendar changes."""

from mes.choices import WorkOrderStatus
from mes.models import OutboxEvent, WorkOrder
from mes.outbox import subscribers
from mes.services import reproject_work_order

PROJECTION_TRIGGERS = (
    "operation.started",
    "operation.confirmed",
    "work_order.released",
    "work_order.resumed",
    "work_order.revised",
)


# Both lock work orders: one event per transaction, so locks are held as briefly as a
# user's own change holds them (and taken in the same order).
@subscribers.register("projection", patterns=PROJECTION_TRIGGERS, chunk=1)
def reproject_on_progress(event: OutboxEvent) -> None:
    """Progress or a new routing moves the projection of the event's work order."""
    work_order_id = event.payload.get("work_order_id") if isinstance(event.payload, dict) else None
    if work_order_id is None:
        return
    wo = WorkOrder.objects.filter(pk=work_order_id).first()
    if wo is not None:
        reproject_work_order(wo)


@subscribers.register("projection.calendar", patterns=["calendar.changed"], chunk=1)
def reproject_site(event: OutboxEvent) -> None:
    """A site's working time changed: every open order there is projected again."""
    open_orders = WorkOrder.objects.filter(
        site_id=event.site_id, status__in=[WorkOrderStatus.RELEASED, WorkOrderStatus.IN_PROGRESS]
    )
    for wo in open_orders.only("pk"):
        reproject_work_order(wo)
