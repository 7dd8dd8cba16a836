"""Read models of quality: the recall of a lot (what it went into, down to customers'
shipments) and its tree, scoped to what the reader may see."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mes.choices import ItemKind, LotStatus
from mes.models import Item, Lot, LotConsumption, ShipmentLine, WorkOrder
from mes.models.access import visible_site_ids

from . import genealogy


@dataclass(slots=True)
class RecallLot:
    """What a recall shows of a lot it reached (a backward walk reaches over a thousand: rows,
    not model objects)."""

    pk: int
    number: str
    quantity: Decimal
    status: str
    site_id: int
    item_id: int
    work_order_id: int | None
    made_by: str  # the ERP number of the order that made it, where the reader sees it
    item: Item | None = None

    def get_status_display(self) -> str:
        return str(LotStatus(self.status).label)


@dataclass
class Recall:
    lot: Lot
    lots: list[RecallLot]  # every lot reached (not itself), by depth then number
    depth: dict[int, int]
    edges: set[tuple[int, int]]
    work_orders: list[str]  # ERP numbers of the orders that consumed or made them
    shipments: list[ShipmentLine]

    @property
    def finished_lots(self) -> list[RecallLot]:
        return [lot for lot in self.lots if lot.item.kind == ItemKind.FINISHED]

    def tree(self) -> list[tuple[int, Lot | RecallLot]]:
        """(indent, lot) rows depth-first from the lot, each lot once (at its first path)."""
        by_id = {lot.pk: lot for lot in [self.lot, *self.lots]}
        children: dict[int, list[int]] = {}
        for parent, child in sorted(self.edges):
            children.setdefault(parent, []).append(child)
        rows, seen, stack = [], set(), [(self.lot.pk, 0)]
        while stack:
            pk, indent = stack.pop()
            if pk in seen or pk not in by_id:
                continue
            seen.add(pk)
            rows.append((indent, by_id[pk]))
            kids = sorted(children.get(pk, ()), key=lambda c: by_id[c].number if c in by_id else "")
            stack.extend((child, indent + 1) for child in reversed(kids))
        return rows


def recall(lot: Lot, user, *, direction: str = "forward") -> Recall:
    """Everything ``lot`` went into (forward) or came from (backward): the lots, the orders
    that consumed or made them, and the shipments that carried them, as ``user`` may see.
    The walk and what it shows of each lot are one statement; the lots of sites the reader
    does not see are left out (their edges stay: the tree skips them)."""
    walk = (genealogy.forward if direction == "forward" else genealogy.backward)(
        lot.pk, detail=True
    )
    sites = visible_site_ids(user)
    lots, numbers, items = [], {}, {}
    for pk, row in walk.details.items():
        number, qty, status, site_id, order_id, order_number, order_site, *item = row
        if order_id is not None and order_site in sites:
            numbers[order_id] = order_number
        if pk == lot.pk or site_id not in sites:
            continue
        if item[0] not in items:  # a walk reaches thousands of lots of a few items
            items[item[0]] = Item(id=item[0], code=item[1], name=item[2], kind=item[3])
        qty = qty if isinstance(qty, Decimal) else Decimal(str(qty))  # SQLite: a float
        made_by = order_number if order_site in sites else ""
        lots.append(
            RecallLot(pk, number, qty, status, site_id, item[0], order_id, made_by, items[item[0]])
        )
    lots.sort(key=lambda found: (walk.depth[found.pk], found.number))
    ids = [lot.pk, *(found.pk for found in lots)]
    if direction == "forward":  # and the orders that consumed them
        consumers = set(
            LotConsumption.objects.filter(lot_id__in=ids).values_list("work_order_id", flat=True)
        )
        numbers.update(
            WorkOrder.objects.visible_to(user)
            .filter(pk__in=consumers - set(numbers))
            .values_list("pk", "erp_number")
        )
    shipments = (
        list(
            ShipmentLine.objects.visible_to(user)
            .filter(lot_id__in=ids)
            .select_related("shipment", "lot__item")
            .order_by("shipment__shipped_at", "pk")
        )
        if direction == "forward"
        else []
    )
    return Recall(
        lot=lot,
        lots=lots,
        depth=walk.depth,
        edges=walk.edges,
        work_orders=sorted(numbers.values()),
        shipments=shipments,
    )
