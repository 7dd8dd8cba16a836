"""Recall over a million lots: genealogy walks (forward from a supplier lot, backward from a
finished lot) p50/p99 per query, on a synthetic plant six levels deep. Target < 100 ms.

Run by ``make bench`` (or ``DATABASE_URL=postgres://... python bench/recall.py``). It
recreates the database ``andon_bench_recall``, migrates it, and writes by SQL (no services:
the walk reads only lots and consumptions) one site, one item per level, and
``--lots`` lots in six levels: level 0 supplier lots, each later level half as many lots as
the one before, each made by its own work order consuming ``--inputs`` (4) random lots of the
level below, so a lot feeds about two orders and a finished lot comes from up to 4^5 lots.
Then ``--queries`` (200) random walks each way, timed one by one: ``quality.genealogy``
alone, and the full recall (``quality.selectors.recall``: the lots, their orders and the
shipments, scoped to a quality user). Results on stdout and in
``bench/results/recall-latest.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "andon_bench_recall"
LEVELS = 6


def level_sizes(total: int) -> list[int]:
    first = round(total * 2 ** (LEVELS - 1) / (2**LEVELS - 1))
    return [max(1, first // 2**level) for level in range(LEVELS)]


def build(total: int, inputs: int, seed: int) -> dict:
    """Write the synthetic plant; returns the id ranges of each level's lots."""
    from django.db import connection

    sizes = level_sizes(total)
    from mes.models import Item, Site, WorkCenter

    site_row = Site.objects.create(code="P1", name="Recall plant", timezone="Europe/Warsaw")
    site = site_row.pk
    items = [
        Item.objects.create(
            code=f"L{level}",
            name=f"Level {level}",
            kind="raw" if level == 0 else ("finished" if level == LEVELS - 1 else "semi"),
        ).pk
        for level in range(LEVELS)
    ]
    wc = WorkCenter.objects.create(site=site_row, code="WC", name="Cell", kind="machining").pk
    with connection.cursor() as cur:
        ranges = []
        for level, size in enumerate(sizes):
            order_ids = None
            if level:
                # one order per lot of this level
                cur.execute(
                    "INSERT INTO mes_workorder (site_id, erp_number, item_id, planned_qty,"
                    " due_date, priority, status, status_before_hold, erp_version,"
                    " erp_reference, quality_holds, created_at, updated_at)"
                    " SELECT %s, 'WO-' || %s || '-' || g, %s, 10, DATE '2026-12-31', 50,"
                    " 'completed', '', 0, '', 0, now(), now() FROM generate_series(1, %s) g"
                    " RETURNING id",
                    [site, level, items[level], size],
                )
                order_ids = [row[0] for row in cur.fetchall()]
            cur.execute(
                "INSERT INTO mes_lot (site_id, number, item_id, quantity, held_qty, status,"
                " supplier, certificate, received_at, work_order_id)"
                " SELECT %s, 'LOT-' || %s || '-' || g, %s, 100, 0, 'available', '', '', now(),"
                " (%s::bigint[])[g] FROM generate_series(1, %s) g RETURNING id",
                [site, level, items[level], order_ids or [None], size],
            )
            ids = sorted(row[0] for row in cur.fetchall())
            ranges.append(ids)
            if level:
                _consume(cur, wc, ranges[level - 1], order_ids, inputs, seed + level)
        cur.execute("ANALYZE mes_lot")
        cur.execute("ANALYZE mes_lotconsumption")
        cur.execute("ANALYZE mes_workorder")
    return {"sizes": sizes, "ranges": ranges}


def existing() -> dict | None:
    """The plant an earlier run left (lot ids per level, from the lot numbers), or None."""
    from mes.models import Lot

    ranges = [
        sorted(Lot.objects.filter(number__startswith=f"LOT-{level}-").values_list("pk", flat=True))
        for level in range(LEVELS)
    ]
    if not all(ranges):
        return None
    return {"sizes": [len(ids) for ids in ranges], "ranges": ranges}


def _consume(cur, wc, below: list[int], orders: list[int], inputs: int, seed: int) -> None:
    """Each order consumes ``inputs`` random lots of the level below, through one
    confirmation of one operation of its own (what a consumption needs to exist)."""
    cur.execute(
        "INSERT INTO mes_operation (work_order_id, sequence, work_center_id, description,"
        " planned_setup_minutes, planned_run_minutes_per_unit, status, quality_holds)"
        " SELECT o, 10, %s, '', 0, 0, 'completed', 0 FROM unnest(%s::bigint[]) o"
        " RETURNING id, work_order_id",
        [wc, orders],
    )
    ops = cur.fetchall()
    cur.execute(
        "INSERT INTO mes_confirmation (operation_id, good_qty, scrap_qty, labor_minutes,"
        " machine_minutes, final, note, created_at) SELECT o, 10, 0, 0, 0, true, '', now()"
        " FROM unnest(%s::bigint[]) o RETURNING id, operation_id",
        [[op for op, _wo in ops]],
    )
    by_op = {op: conf for conf, op in cur.fetchall()}
    rng = random.Random(seed)
    lots, confs, wos = [], [], []
    for op, wo in ops:
        for lot in rng.sample(below, min(inputs, len(below))):
            lots.append(lot)
            confs.append(by_op[op])
            wos.append(wo)
    cur.execute(
        "INSERT INTO mes_lotconsumption (confirmation_id, lot_id, work_order_id, quantity)"
        " SELECT c, l, w, 1 FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS t(c, l, w)",
        [confs, lots, wos],
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, ids: list[int]) -> dict:
    times, sizes = [], []
    for pk in ids:
        start = time.perf_counter()
        result = fn(pk)
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(result)
    return {
        "p50_ms": round(median(times), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
        "max_ms": round(max(times), 2),
        "lots_reached_median": median(sizes),
        "lots_reached_max": max(sizes),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lots", type=int, default=1_000_000)
    parser.add_argument("--inputs", type=int, default=4)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--reuse", action="store_true", help="walk the plant an earlier run built (same options)"
    )
    args = parser.parse_args(argv)
    from bench.common import in_process_database

    if not in_process_database(DB, "recall", keep=args.reuse):
        return 2
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    plant = existing() if args.reuse else None
    plant = plant or build(args.lots, args.inputs, args.seed)
    built = time.perf_counter() - started

    from django.contrib.auth import get_user_model

    from mes.access import grant_site_access
    from mes.models import Lot, Site
    from quality import genealogy
    from quality.selectors import recall
    from tests.factories import make_user

    get_user_model().objects.filter(username="recall-reader").delete()
    reader = make_user("recall-reader", "quality", [])
    grant_site_access(reader, Site.objects.get())
    rng = random.Random(args.seed)
    suppliers = rng.sample(plant["ranges"][0], args.queries)
    finished = rng.sample(plant["ranges"][-1], min(args.queries, len(plant["ranges"][-1])))
    lots = {lot.pk: lot for lot in Lot.objects.filter(pk__in=[*suppliers, *finished])}
    genealogy.forward(suppliers[0])  # warm the connection and the plan cache
    results = {
        "lots": sum(plant["sizes"]),
        "levels": plant["sizes"],
        "build_seconds": round(built, 1),
        "forward_walk": timed(lambda pk: len(genealogy.forward(pk).depth), suppliers),
        "backward_walk": timed(lambda pk: len(genealogy.backward(pk).depth), finished),
        "forward_recall": timed(lambda pk: len(recall(lots[pk], reader).lots), suppliers),
        "backward_recall": timed(
            lambda pk: len(recall(lots[pk], reader, direction="backward").lots), finished
        ),
        "target_ms": 100,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "recall-latest.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
