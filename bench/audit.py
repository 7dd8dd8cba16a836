"""The audit's costs: one record's history with ``--rows`` (10,000,000) history rows in its
table (target < 50 ms), the verification's rate in rows per second, and what the chain's
trigger costs an insert (A B A B: the same rows with the trigger and without).

Run by ``make bench`` (or ``DATABASE_URL=postgres://... python bench/audit.py``). It
recreates the database ``andon_bench_audit`` (``--reuse``: keeps the rows an earlier run
wrote), migrates it (which installs the chains' triggers), and writes by SQL, through the
trigger (every row chained and hashed as in production), ``--rows`` work-order history rows
spread over ``--records`` records (about 20 changes each). The record read is a real one,
changed through the services. Results on stdout and in ``bench/results/audit-latest.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from statistics import median, quantiles

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "andon_bench_audit"
BATCH = 500_000
COLUMNS = (
    "id, erp_number, planned_qty, due_date, priority, status, status_before_hold, erp_version,"
    " erp_reference, quality_holds, created_at, updated_at, site_id, item_id, history_date,"
    " history_type, history_change_reason, request_id, channel, audit_hash"
)


def _select(site: int, item: int, records: int, offset: int) -> str:
    """Rows ``g`` of a series: record ``offset + g % records``, a priority that changes
    (``%%``: the statement takes parameters)."""
    return (
        f"SELECT {offset} + g %% {records}, 'WO-' || g %% {records}, 10, DATE '2026-12-31',"  # noqa: S608
        f" g %% 90, 'released', '', g / {records}, '', 0, now(), now(), {site}, {item},"
        " now() - (interval '1 second' * (20000000 - g)), '~', 'bench', '', 'erp', ''"
        " FROM generate_series(%s, %s) g"
    )


def fill(cursor, site: int, item: int, rows: int, records: int, offset: int, start: int = 1):
    done = start - 1
    began = time.perf_counter()
    while done < rows:
        end = min(done + BATCH, rows)
        rows_sql = _select(site, item, records, offset)
        cursor.execute(
            f"INSERT INTO mes_historicalworkorder ({COLUMNS}) {rows_sql}", [done + 1, end]
        )  # noqa: S608
        done = end
        rate = (done - start + 1) / (time.perf_counter() - began)
        print(f"  {done:,} rows ({rate:,.0f}/s)", file=sys.stderr)


def trigger_cost(cursor, site: int, item: int) -> dict:
    """The same 100,000 rows into a scratch copy of the table, with the trigger and
    without, interleaved twice."""
    cursor.execute("DROP TABLE IF EXISTS bench_history")
    cursor.execute("CREATE TABLE bench_history (LIKE mes_historicalworkorder INCLUDING ALL)")
    from mes.audit.chain import TRIGGER_SQL

    sql = TRIGGER_SQL.format(
        table="bench_history",
        chain='"id"',
        function="andon_chain_bench_history",
        index="unused",
        table_literal="'bench_history'",
        chain_literal="'id'",
    )  # its own trigger function, as install() makes one per table (its index: LIKE's)
    cursor.execute("\n".join(line for line in sql.splitlines() if "UNIQUE INDEX" not in line))
    timings = {"with": [], "without": []}
    for mode in ("with", "without", "with", "without"):
        cursor.execute("TRUNCATE bench_history")
        state = "ENABLE" if mode == "with" else "DISABLE"
        cursor.execute(f"ALTER TABLE bench_history {state} TRIGGER andon_audit_chain")
        began = time.perf_counter()
        sql = f"INSERT INTO bench_history ({COLUMNS}) {_select(site, item, 5000, 10**9)}"
        cursor.execute(sql, [1, 100_000])  # noqa: S608
        timings[mode].append(100_000 / (time.perf_counter() - began))
    cursor.execute("DROP TABLE bench_history")
    cursor.execute("DROP FUNCTION andon_chain_bench_history()")
    with_, without = median(timings["with"]), median(timings["without"])
    return {
        "rows_per_s_with_trigger": round(with_),
        "rows_per_s_without": round(without),
        "ratio": round(with_ / without, 3),
    }


def timed(call, args) -> dict:
    ms = []
    for arg in args:
        began = time.perf_counter()
        call(arg)
        ms.append((time.perf_counter() - began) * 1000)
    cuts = quantiles(ms, n=100)
    return {"p50_ms": round(median(ms), 2), "p99_ms": round(cuts[98], 2), "n": len(ms)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args(argv)
    import os

    from bench.common import in_process_database

    # One key for every run: rows an earlier run wrote (--reuse) verify under it (a new key
    # would fail them all, as it would in production).
    os.environ.setdefault("AUDIT_KEY", "bench-audit-key-not-for-production")
    if not in_process_database(DB, "audit", keep=args.reuse):
        return 2
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    from mes import services
    from mes.models import Site, WorkOrder
    from tests.factories import SiteFactory, make_user, make_work_order

    site = Site.objects.filter(code="P1").first() or SiteFactory(code="P1")
    orders = list(WorkOrder.objects.filter(erp_number__startswith="AUD/").order_by("pk"))
    if not orders:
        for n in range(args.queries // 10 or 1):
            wo = make_work_order(site, erp_number=f"AUD/{n}")
            for change in range(20):
                wo.priority = change
                services.save_with_history(wo, actor=None, reason=f"change {change}")
            orders.append(wo)
    item = orders[0].item_id
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM mes_historicalworkorder")
        present = cursor.fetchone()[0]
        began = time.perf_counter()
        if present < args.rows:
            print(
                f"writing {args.rows - present:,} history rows through the trigger", file=sys.stderr
            )
            fill(cursor, site.pk, item, args.rows, args.records, 10**7, start=present + 1)
        cursor.execute("ANALYZE mes_historicalworkorder")
        built = time.perf_counter() - began
        cost = trigger_cost(cursor, site.pk, item)
        cursor.execute("SELECT count(*) FROM mes_historicalworkorder")
        total = cursor.fetchone()[0]
    from django.conf import settings
    from django.test.utils import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }  # production settings, in-process, without collectstatic's manifest
    override_settings(ALLOWED_HOSTS=["testserver"], STORAGES=storages).enable()
    auditor = make_user(f"auditor-{time.time_ns()}", "auditor", [])
    client = Client(secure=True)
    client.force_login(auditor)
    picks = [random.Random(n).choice(orders).pk for n in range(args.queries)]
    client.get(f"/api/v1/history/mes.workorder/{picks[0]}/")  # warm

    def api(pk):
        answer = client.get(f"/api/v1/history/mes.workorder/{pk}/")
        assert answer.status_code == 200 and len(answer.json()["entries"]) >= 21

    def page(pk):
        assert client.get(f"/audit/mes.workorder/{pk}/").status_code == 200

    from mes.audit.verify import verify

    began = time.perf_counter()
    report = verify(checkpoint=False, started_by="bench")
    verify_s = time.perf_counter() - began
    results = {
        "history_rows_in_table": total,
        "build_seconds": round(built, 1),
        "one_record_api": timed(api, picks),
        "one_record_page": timed(page, picks),
        "target_ms": 50,
        "verify": {
            "rows": report.rows,
            "seconds": round(verify_s, 1),
            "rows_per_s": round(report.rows / verify_s),
            "intact": report.intact,
            "breaks": [b.describe() for b in report.breaks],
        },
        "insert": cost,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "audit-latest.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0 if report.intact else 1


if __name__ == "__main__":
    raise SystemExit(main())
