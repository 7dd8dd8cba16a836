"""What the ERP integration does with outbox events: deliveries to the ERP endpoints that
want them, and the projected completion of work orders."""

from mes.events import ERP
from mes.outbox import subscribers

from . import outbound, projection

subscribers.register(outbound.SUBSCRIBER, outbound.enqueue_deliveries, patterns=["*"], audience=ERP)
subscribers.register(projection.SUBSCRIBER, projection.on_progress, patterns=projection.TRIGGERS)
