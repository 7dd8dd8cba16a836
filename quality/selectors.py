"""Read models of quality: the recall of a lot (what it went into, down to customers'
shipments) and its tree, scoped to what the reader may see."""

from __future__ import annotations

from dataclasses import dataclass

from mes.choices import ItemKind
from mes.models import Item, Lot, LotConsumption, ShipmentLine, WorkOrder

from . import genealogy

# What a recall shows of each lot (a million-lot plant reaches thousands: no more than this).
LOT_FIELDS = ("number", "quantity", "status", "site_id", "item_id", "work_order_id")


@dataclass
class Recall:
    lot: Lot
    lots: list[Lot]  # every lot made from it (not itself), by depth then number
    depth: dict[int, int]
    edges: set[tuple[int, int]]
    work_orders: list[str]  # ERP numbers of the orders that consumed or made them
    shipments: list[ShipmentLine]

    @property
    def finished_lots(self) -> list[Lot]:
        return [lot for lot in self.lots if lot.item.kind == ItemKind.FINISHED]

    def tree(self) -> list[tuple[int, Lot]]:
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
    that consumed or made them, and the shipments that carried them, as ``user`` may see."""
    walk = (genealogy.forward if direction == "forward" else genealogy.backward)(lot.pk)
    ids = [lot.pk, *walk.lot_ids]
    visible = Lot.objects.visible_to(user)
    lots = sorted(
        visible.filter(pk__in=walk.lot_ids).only(*LOT_FIELDS),
        key=lambda found: (walk.depth[found.pk], found.number),
    )
    # A walk reaches thousands of lots of a few items: each item read once, not per lot.
    items = Item.objects.in_bulk({found.item_id for found in lots})
    for found in lots:
        Lot.item.field.set_cached_value(found, items[found.item_id])
    order_ids = {found.work_order_id for found in [lot, *lots] if found.work_order_id}
    if direction == "forward":  # and the orders that consumed them
        order_ids |= set(
            LotConsumption.objects.filter(lot_id__in=ids).values_list("work_order_id", flat=True)
        )
    numbers = dict(
        WorkOrder.objects.visible_to(user)
        .filter(pk__in=order_ids - {None})
        .values_list("pk", "erp_number")
    )
    for found in lots:
        found.made_by = numbers.get(found.work_order_id, "")
    work_orders = sorted(numbers.values())
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
        work_orders=work_orders,
        shipments=shipments,
    )
