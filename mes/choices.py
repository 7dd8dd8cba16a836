"""Status and kind enumerations of the production core, with their allowed transitions."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkCenterKind(models.TextChoices):
    MACHINING = "machining", _("Machining")
    ASSEMBLY = "assembly", _("Assembly")
    PAINT = "paint", _("Paint")
    PRESS = "press", _("Press")
    INSPECTION = "inspection", _("Inspection")
    SUBCONTRACT = "subcontract", _("Subcontract")
    OTHER = "other", _("Other")


class ItemKind(models.TextChoices):
    FINISHED = "finished", _("Finished good")
    SEMI = "semi", _("Semi-finished")
    RAW = "raw", _("Raw material")


class Unit(models.TextChoices):
    PCS = "pcs", _("pieces")
    KG = "kg", _("kilograms")
    M = "m", _("metres")


class WorkOrderStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    RELEASED = "released", _("Released")
    IN_PROGRESS = "in_progress", _("In progress")
    ON_HOLD = "on_hold", _("On hold")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


WO = WorkOrderStatus
#: Allowed work order transitions; every service checks this table and nothing else.
WORK_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    WO.PLANNED: frozenset({WO.RELEASED, WO.CANCELLED}),
    WO.RELEASED: frozenset({WO.IN_PROGRESS, WO.ON_HOLD, WO.CANCELLED}),
    WO.IN_PROGRESS: frozenset({WO.ON_HOLD, WO.COMPLETED}),
    WO.ON_HOLD: frozenset({WO.RELEASED, WO.IN_PROGRESS, WO.CANCELLED}),
    WO.COMPLETED: frozenset({WO.CLOSED, WO.IN_PROGRESS}),
    WO.CLOSED: frozenset(),
    WO.CANCELLED: frozenset(),
}
#: Which states each work order action starts from (the services' table; resume returns to
#: the state before the hold, so leaving a hold is "resume", never "release" or "start").
WORK_ORDER_ACTIONS: dict[str, frozenset[str]] = {
    "release": frozenset({WO.PLANNED}),
    "start": frozenset({WO.RELEASED}),
    "hold": frozenset({WO.RELEASED, WO.IN_PROGRESS}),
    "resume": frozenset({WO.ON_HOLD}),
    "complete": frozenset({WO.IN_PROGRESS}),
    "close": frozenset({WO.COMPLETED}),
    # A quality disposition adds a rework operation; a completed order is back in progress.
    "rework": frozenset({WO.RELEASED, WO.IN_PROGRESS, WO.COMPLETED}),
    "cancel": frozenset({WO.PLANNED, WO.RELEASED, WO.ON_HOLD}),
}
#: Work orders in these states accept operation starts and confirmations.
WORK_ORDER_ACTIVE = frozenset({WO.RELEASED, WO.IN_PROGRESS})
#: Work orders in these states are still open (count for "behind").
WORK_ORDER_OPEN = frozenset({WO.PLANNED, WO.RELEASED, WO.IN_PROGRESS, WO.ON_HOLD})


class OperationStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


OP = OperationStatus
OPERATION_TRANSITIONS: dict[str, frozenset[str]] = {
    OP.QUEUED: frozenset({OP.IN_PROGRESS, OP.COMPLETED, OP.CANCELLED}),
    OP.IN_PROGRESS: frozenset({OP.COMPLETED, OP.CANCELLED}),
    OP.COMPLETED: frozenset(),
    OP.CANCELLED: frozenset(),
}


class LotStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    ON_HOLD = "on_hold", _("On hold")
    CONSUMED = "consumed", _("Consumed")
    SHIPPED = "shipped", _("Shipped")
    RETURNED = "returned", _("Returned to the supplier")
    SCRAPPED = "scrapped", _("Scrapped")
