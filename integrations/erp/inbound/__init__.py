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

from django.db import transaction
from django.utils.translation import gettext as _

from mes.audit.context import Channel, channel
from mes.errors import InvalidInput
from mes.texts import check_text

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
    rejected,
    summarize,
)
from .quick import QuickOrders
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
    "orders": BatchKind(
        "erp_number", WorkOrderIn, orders.Lookups.for_orders, orders.apply_order, QuickOrders
    ),
    "items": BatchKind("code", ItemIn, master.item_lookups, master.apply_item),
    "work_centers": BatchKind(
        "code", WorkCenterIn, master.work_center_lookups, master.apply_work_center
    ),
    "lots": BatchKind("number", LotIn, master.lot_lookups, master.apply_lot),
}


@channel(Channel.ERP)
def ingest(kind: str, records: list, *, actor) -> list[dict]:
    """Apply a batch of ERP records of ``kind`` (see :data:`KINDS`); one result per record,
    in order, each applied in a savepoint of its own (new work orders: together, below)."""
    spec = KINDS[kind]
    results: list[dict | None] = [None] * len(records)
    clean = []
    for n, record in enumerate(records):
        problem = screen(spec, record)
        if problem is None:
            clean.append(n)
        else:
            key = record.get(spec.key) if isinstance(record, dict) else None
            results[n] = rejected(
                spec.key, key if isinstance(key, str) and not check_text(key) else None, problem
            )
    kept = [records[n] for n in clean]
    with transaction.atomic():  # the caller's transaction (the batch's), or one of its own
        lookups = spec.lookups(kept)
        if kind == "orders":
            done = orders.ingest_orders(spec, kept, actor, lookups)
        else:
            done = [one(spec, record, actor, lookups) for record in kept]
    for n, result in zip(clean, done, strict=True):
        results[n] = result
    return results


# Fields the batch looks records up by, before validating them: they must be plain text.
_LOOKUP_FIELDS = frozenset(
    {"site", "item", "work_center", "code", "erp_number", "number", "lot", "supplier_lot"}
)


def screen(spec, record) -> InvalidInput | None:
    """What makes ``record`` unfit even for validation (not an object, text that cannot be
    stored, a lookup field that is not text): its own rejection, never the batch's. One walk
    through the record; bad text is named first."""
    if not isinstance(record, dict):
        return InvalidInput(_("A record is a JSON object."), code="invalid")
    lookup_fields = _LOOKUP_FIELDS | {spec.key}
    not_text = None
    stack = [record]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            problem = check_text(value)
            if problem:
                return InvalidInput(problem, code="invalid_characters")
        elif isinstance(value, dict):
            for name, item in value.items():
                problem = check_text(name) if isinstance(name, str) else None
                if problem:
                    return InvalidInput(problem, code="invalid_characters")
                if (
                    not_text is None
                    and name in lookup_fields
                    and not isinstance(item, str | int | type(None))
                ):
                    not_text = name
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    if not_text is not None:
        return InvalidInput(
            _("%(field)s must be text.") % {"field": not_text},
            code="invalid",
            fields={not_text: [_("Not a valid string.")]},
        )
    return None
