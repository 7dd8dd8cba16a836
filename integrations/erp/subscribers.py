"""What the ERP integration does with outbox events: a delivery to every ERP endpoint that
wants the event (:mod:`integrations.erp.outbound`)."""

from mes.events import ERP
from mes.outbox import subscribers

from . import outbound

subscribers.register(
    outbound.SUBSCRIBER, outbound.enqueue_deliveries, patterns=["*"], audience=ERP, batch=True
)
