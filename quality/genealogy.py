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

from mes.models import Lot, LotConsumption

MAX_DEPTH = 50
_LOT = Lot._meta.db_table
_USE = LotConsumption._meta.db_table

# (lot, parent on the walk, depth): forward, parent is the lot it was made from.
_FORWARD = f"""
WITH RECURSIVE walk(lot_id, via_id, depth) AS (
    SELECT id, CAST(NULL AS BIGINT), 0 FROM {_LOT} WHERE id = %s
  UNION
    SELECT made.id, walk.lot_id, walk.depth + 1
    FROM walk
    JOIN {_USE} used ON used.lot_id = walk.lot_id
    JOIN {_LOT} made ON made.work_order_id = used.work_order_id
    WHERE walk.depth < %s
)
SELECT lot_id, via_id, depth FROM walk
"""  # noqa: S608 - the models' table names, no input
# Backward, parent is the lot it went into.
_BACKWARD = f"""
WITH RECURSIVE walk(lot_id, via_id, depth) AS (
    SELECT id, CAST(NULL AS BIGINT), 0 FROM {_LOT} WHERE id = %s
  UNION
    SELECT used.lot_id, walk.lot_id, walk.depth + 1
    FROM walk
    JOIN {_LOT} made ON made.id = walk.lot_id
    JOIN {_USE} used ON used.work_order_id = made.work_order_id
    WHERE walk.depth < %s
)
SELECT lot_id, via_id, depth FROM walk
"""  # noqa: S608 - the models' table names, no input


@dataclass
class Walk:
    """A genealogy walk from ``root``: every lot reached, the depth it was first reached at,
    and the edges (parent, child) on the way, for a tree."""

    root: int
    depth: dict[int, int] = field(default_factory=dict)
    edges: set[tuple[int, int]] = field(default_factory=set)

    @property
    def lot_ids(self) -> list[int]:
        return [pk for pk in self.depth if pk != self.root]


def _walk(sql: str, lot_id: int, max_depth: int) -> Walk:
    walk = Walk(root=lot_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, [lot_id, max_depth])
        for pk, via, depth in cursor.fetchall():
            if pk not in walk.depth or depth < walk.depth[pk]:
                walk.depth[pk] = depth
            if via is not None:
                walk.edges.add((via, pk))
    return walk


def forward(lot_id: int, max_depth: int = MAX_DEPTH) -> Walk:
    """Where lot ``lot_id`` went: every lot made from it, at any depth."""
    return _walk(_FORWARD, lot_id, max_depth)


def backward(lot_id: int, max_depth: int = MAX_DEPTH) -> Walk:
    """What went into lot ``lot_id``: every lot it was made from, at any depth."""
    return _walk(_BACKWARD, lot_id, max_depth)


def descendants(lot_id: int) -> list[int]:
    return forward(lot_id).lot_ids
