"""Celery tasks of the ERP integration: outbound delivery and its sweep."""

from celery import shared_task
from django.utils import timezone

from mes.tasks import Periodic

from . import outbound
from .outbound import deliver_endpoint

__all__ = ["deliver_endpoint", "sweep_deliveries", "sync_polling_endpoints"]
from .models import ErpDelivery, ErpEndpoint


@shared_task(acks_late=True, ignore_result=True)
def sweep_deliveries() -> int:
    """Deliver what is due for every endpoint: retries whose wake-up was lost, broker outages."""
    endpoint_ids = (
        ErpDelivery.objects.filter(
            status=ErpDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        .exclude(endpoint__adapter=outbound.PullAdapter.name)
        .values_list("endpoint_id", flat=True)
        .distinct()
    )
    return sum(outbound.deliver_endpoint_now(pk) for pk in list(endpoint_ids))


@shared_task(ignore_result=True)
def sync_polling_endpoints() -> int:
    """Import orders from every active endpoint whose adapter polls its ERP (periodic)."""
    count = 0
    for endpoint in ErpEndpoint.objects.filter(is_active=True):
        if outbound.polls(endpoint):
            try:
                outbound.sync_now(endpoint)
            except outbound.SyncFailed:
                continue  # recorded on the endpoint; the owner sees it in the admin
            count += 1
    return count


PERIODIC_TASKS = {
    "erp-delivery-sweep": Periodic(
        "integrations.erp.tasks.sweep_deliveries", 15, "ERP_DELIVERY_SWEEP_SECONDS"
    ),
    "erp-order-sync": Periodic(
        "integrations.erp.tasks.sync_polling_endpoints", 300, "ERP_SYNC_SECONDS"
    ),
}
