"""Demo data of the ERP integration: a pull endpoint the ``erp`` account reads
(GET /api/v1/erp/events/); the demo's confirmations wait there and show on the reconciliation
page."""

from .models import ErpEndpoint


def seed(plant) -> None:
    endpoint = ErpEndpoint.objects.create(
        name="Demo ERP (pull feed)",
        adapter="pull",
        event_types=[
            "operation.confirmed",
            "work_order.completed",
            "work_order.held",
            "work_order.resumed",
            "exception.resolved",
        ],
        account=plant.users["erp"],
        owner=plant.users["manager"],
    )
    endpoint.sites.set(plant.sites)
