"""What the ERP sends: batches of records keyed by ERP identifiers, answered record by record.

Every record is validated on its own and applied in a savepoint of its own, through the
production services (permission, site, history, outbox event), so a bad record is answered
``rejected`` with a code and field errors and never blocks or half-writes the good ones. The
whole batch runs in one transaction with its ``Idempotency-Key`` record: a replayed batch gets
the first answer and changes nothing.

Work orders (``status`` per record):

- ``created``: unknown ``(site, erp_number)``: a planned order with its routing and components.
- ``stale``: ``erp_version`` lower than the one Andon has: ignored.
- ``unchanged``: the same version again, or a higher one with nothing the floor cares about
  changed (the version is noted).
- ``updated``: a higher version that changes item, quantity, due date, routing or components
  of an order the floor has not started: rewritten (``changed`` lists what); or a cancellation
  (``"status": "cancelled"``) of such an order: cancelled. If the floor **has started** the
  order, nothing on the floor is rewritten: an ``order_change`` exception is raised for the
  planner (``order_change`` carries its number), the version is noted so resends are
  ``unchanged``, and ``applied`` is false.
- ``rejected``: invalid (``code``, ``detail``, ``fields``); the stored order stands.
"""

from __future__ import annotations

from . import master, orders
from .batch import (
    CANCELLED,
    CREATED,
    MAX_BATCH,
    REJECTED,
    STALE,
    STATUSES,
    UNCHANGED,
    UPDATED,
    BatchKind,
    one,
    summarize,
)
from .records import ItemIn, LotIn, OperationIn, WorkCenterIn, WorkOrderIn

__all__ = [
    "CANCELLED",
    "CREATED",
    "KINDS",
    "MAX_BATCH",
    "REJECTED",
    "STALE",
    "STATUSES",
    "UNCHANGED",
    "UPDATED",
    "ItemIn",
    "LotIn",
    "OperationIn",
    "WorkCenterIn",
    "WorkOrderIn",
    "ingest",
    "summarize",
]

KINDS: dict[str, BatchKind] = {
    "orders": BatchKind("erp_number", WorkOrderIn, orders.Lookups.for_orders, orders.apply_order),
    "items": BatchKind("code", ItemIn, master.item_lookups, master.apply_item),
    "work_centers": BatchKind(
        "code", WorkCenterIn, master.work_center_lookups, master.apply_work_center
    ),
    "lots": BatchKind("number", LotIn, master.lot_lookups, master.apply_lot),
}


def ingest(kind: str, records: list, *, actor) -> list[dict]:
    """Apply a batch of ERP records of ``kind`` (see :data:`KINDS`); one result per record,
    in order, each applied in a savepoint of its own (new work orders: together, below)."""
    spec = KINDS[kind]
    lookups = spec.lookups(records)
    if kind == "orders":
        return orders.ingest_orders(spec, records, actor, lookups)
    return [one(spec, record, actor, lookups) for record in records]
