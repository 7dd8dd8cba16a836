"""Lot genealogy from confirmations: which lots went into a lot (backward) and where a lot
went (forward), to any depth, each as one recursive SQL statement.

The link is the work order: a confirmation of order W consumed lot A (``LotConsumption``,
which names W) and W made lot B (``Lot.work_order``), so A -> B. Components are consumed at
an order's first operation and its lot is made at the last, so the link cannot be the
confirmation. Both queries run on PostgreSQL and SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection

from mes.models import Item, Lot, LotConsumption, WorkOrder

MAX_DEPTH = 50
_LOT = Lot._meta.db_table
_USE = LotConsumption._meta.db_table
_WO = WorkOrder._meta.db_table
_ITEM = Item._meta.db_table

# (lot, parent on the walk, depth) and what a recall shows of the lot, carried along the walk
# (a backward walk reaches over a thousand lots: no second look-up of each).
_COLUMNS = "lot_id, via_id, depth, work_order_id, number, quantity, status, site_id, item_id"
_ROOT = f"""
    SELECT id, CAST(NULL AS BIGINT), 0, work_order_id, number, quantity, status, site_id,
           item_id
    FROM {_LOT} WHERE id = %s
"""  # noqa: S608 - the models' table names, no input
_STEP = "lot.id, walk.lot_id, walk.depth + 1, lot.work_order_id, lot.number, lot.quantity,"
_STEP += " lot.status, lot.site_id, lot.item_id"
# Forward, the parent is the lot it was made from.
_FORWARD = f"""
WITH RECURSIVE walk({_COLUMNS}) AS ({_ROOT}
  UNION
    SELECT {_STEP}
    FROM walk
    JOIN {_USE} used ON used.lot_id = walk.lot_id
    JOIN {_LOT} lot ON lot.work_order_id = used.work_order_id
    WHERE walk.depth < %s
)
"""  # noqa: S608 - the models' table names, no input
# Backward, the parent is the lot it went into.
_BACKWARD = f"""
WITH RECURSIVE walk({_COLUMNS}) AS ({_ROOT}
  UNION
    SELECT {_STEP}
    FROM walk
    JOIN {_USE} used ON used.work_order_id = walk.work_order_id
    JOIN {_LOT} lot ON lot.id = used.lot_id
    WHERE walk.depth < %s
)
"""  # noqa: S608 - the models' table names, no input
_IDS = "SELECT lot_id, via_id, depth FROM walk"
# With the number of the order that made each lot and its item (a few items for many lots).
_DETAIL = f"""
SELECT walk.lot_id, walk.via_id, walk.depth, walk.number, walk.quantity, walk.status,
       walk.site_id, walk.work_order_id, wo.erp_number, wo.site_id,
       item.id, item.code, item.name, item.kind
FROM walk
JOIN {_ITEM} item ON item.id = walk.item_id
LEFT JOIN {_WO} wo ON wo.id = walk.work_order_id
"""  # noqa: S608 - the models' table names, no input


@dataclass
class Walk:
    """A genealogy walk from ``root``: every lot reached, the depth it was first reached at,
    and the edges (parent, child) on the way, for a tree."""

    root: int
    depth: dict[int, int] = field(default_factory=dict)
    edges: set[tuple[int, int]] = field(default_factory=set)

    # With ``detail``: per lot reached, (number, quantity, status, site id, order id, order's
    # ERP number, order's site id, item id, item code, item name, item kind).
    details: dict[int, tuple] = field(default_factory=dict)

    @property
    def lot_ids(self) -> list[int]:
        return [pk for pk in self.depth if pk != self.root]


def _walk(cte: str, lot_id: int, max_depth: int, detail: bool) -> Walk:
    walk = Walk(root=lot_id)
    depths, edges, details = walk.depth, walk.edges, walk.details
    with connection.cursor() as cursor:
        cursor.execute(cte + (_DETAIL if detail else _IDS), [lot_id, max_depth])
        for row in cursor.fetchall():
            pk, via, depth = row[0], row[1], row[2]
            known = depths.get(pk)
            if known is None or depth < known:
                depths[pk] = depth
            if via is not None:
                edges.add((via, pk))
            if detail:
                details[pk] = row[3:]
    return walk


def forward(lot_id: int, max_depth: int = MAX_DEPTH, *, detail: bool = False) -> Walk:
    """Where lot ``lot_id`` went: every lot made from it, at any depth."""
    return _walk(_FORWARD, lot_id, max_depth, detail)


def backward(lot_id: int, max_depth: int = MAX_DEPTH, *, detail: bool = False) -> Walk:
    """What went into lot ``lot_id``: every lot it was made from, at any depth."""
    return _walk(_BACKWARD, lot_id, max_depth, detail)


def descendants(lot_id: int) -> list[int]:
    return forward(lot_id).lot_ids
