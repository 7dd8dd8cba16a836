from .accounts import AccessReview, AccountKind, AccountProfile, account_usable
from .audit import AuditCheckpoint, AuditRun, AuditSchema
from .base import (
    GLOBAL,
    INTERNAL,
    OWNER,
    ChainedEntry,
    GlobalQuerySet,
    HistoryAuditFields,
    InternalQuerySet,
    OwnerQuerySet,
    SiteScopedQuerySet,
)
from .calendars import NonWorkingDay, WorkingCalendar
from .generation import ConfigGeneration
from .idempotency import IdempotencyRecord
from .machines import (
    Downtime,
    DowntimeReason,
    MachineCount,
    MachineState,
    MachineStateSpan,
)
from .notifications import Notification, NotificationPreference
from .outbox import OutboxDelivery, OutboxEvent
from .production import (
    Confirmation,
    Item,
    Lot,
    LotConsumption,
    Operation,
    WorkOrder,
    WorkOrderComponent,
)
from .shipping import Shipment, ShipmentLine
from .sites import Machine, Site, WorkCenter
from .tokens import ApiToken, TokenScope, WebsocketTicket
from .users import register_user_history

register_user_history()

__all__ = [
    "Downtime",
    "DowntimeReason",
    "MachineCount",
    "MachineState",
    "MachineStateSpan",
    "AccessReview",
    "AuditCheckpoint",
    "AuditRun",
    "AuditSchema",
    "AccountKind",
    "AccountProfile",
    "account_usable",
    "ApiToken",
    "TokenScope",
    "WebsocketTicket",
    "GLOBAL",
    "INTERNAL",
    "OWNER",
    "InternalQuerySet",
    "OwnerQuerySet",
    "Confirmation",
    "ConfigGeneration",
    "GlobalQuerySet",
    "ChainedEntry",
    "HistoryAuditFields",
    "IdempotencyRecord",
    "Item",
    "Lot",
    "LotConsumption",
    "Machine",
    "NonWorkingDay",
    "Notification",
    "NotificationPreference",
    "Operation",
    "OutboxDelivery",
    "OutboxEvent",
    "Shipment",
    "ShipmentLine",
    "Site",
    "SiteScopedQuerySet",
    "WorkCenter",
    "WorkOrder",
    "WorkOrderComponent",
    "WorkingCalendar",
]
