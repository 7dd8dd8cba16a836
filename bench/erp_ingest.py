"""ERP batch ingest: orders with 5 operations each per second, next to PostgreSQL ``COPY``.

Run by ``make bench``. Uses ``../shared/data/plant-q3`` (or ``ANDON_PLANT_DATA``): its items,
work centers and every valid order of ``work_orders.json``, each routing completed to exactly
5 operations with the site's other in-house work centers (the plant's own are 1 to 4 long),
components as sent. It recreates ``andon_bench``, loads the master data through the ERP
endpoints, starts uvicorn (one process) and a Celery worker on Redis, as in production, then:

- **API**: POSTs the orders to ``/api/v1/erp/work-orders/batch/`` in batches of
  ``--batch`` (default 1,000), one after another, each with its own Idempotency-Key; every
  result must be ``created``. Rate = orders / wall time of the POSTs. The same batches again
  (new keys) measure the resend rate (every result ``unchanged``).
- **ceiling**: ``COPY`` of the same orders, operations and components (same columns' worth of
  data) into three bare tables without indexes, constraints, history or events, in one
  transaction per batch. Rate = orders / wall time.

Also reported: how long the worker took to relay the orders' outbox events. Results on stdout
and in ``bench/results/erp-ingest-latest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    RESULTS,
    Processes,
    bench_database_url,
    recreate_database,
    wait_drained,
    wait_until,
)
from tests.processes import free_port, server_argv, worker_argv  # noqa: E402

PLANT = Path(os.environ.get("ANDON_PLANT_DATA") or ROOT.parent / "shared" / "data" / "plant-q3")
OPERATIONS = 5

COPY_DDL = """
DROP TABLE IF EXISTS bench_copy_wo, bench_copy_op, bench_copy_comp;
CREATE TABLE bench_copy_wo (
    erp_number varchar(64), site varchar(20), item varchar(60), quantity numeric(14, 3),
    due_date date, erp_version integer, status varchar(20)
);
CREATE TABLE bench_copy_op (
    erp_number varchar(64), sequence integer, work_center varchar(40),
    setup_minutes numeric(12, 4), run_minutes_per_unit numeric(12, 4)
);
CREATE TABLE bench_copy_comp (erp_number varchar(64), item varchar(60), quantity numeric(14, 3));
"""


def load(name: str):
    return json.loads((PLANT / name).read_text(encoding="utf-8"))


def bench_orders() -> list[dict]:
    """Every valid plant-q3 order, routing completed to OPERATIONS operations."""
    edge = load("edge_cases.json")["orders"]
    invalid = {n for case, numbers in edge.items() if case.startswith("invalid_") for n in numbers}
    in_house = {}
    for wc in load("work_centers.json"):
        if wc["kind"] != "subcontract":
            in_house.setdefault(wc["site"], []).append(wc["code"])
    orders = []
    for record in load("work_orders.json")["orders"]:
        if record["erp_number"] in invalid:
            continue
        ops = list(record["operations"])[:OPERATIONS]
        spare = [c for c in in_house[record["site"]] if c not in {o["work_center"] for o in ops}]
        sequence = max(o["sequence"] for o in ops)
        while len(ops) < OPERATIONS:
            sequence += 10
            ops.append(
                {
                    "sequence": sequence,
                    "work_center": spare[len(ops) % len(spare)],
                    "setup_minutes": 15,
                    "run_minutes_per_unit": 0.5,
                }
            )
        orders.append({**record, "operations": ops})
    return orders


def post_batches(http, url: str, key: str, records: list[dict], batch: int, expect: str) -> float:
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        answer = http.post(url, json={key: chunk}, headers={"Idempotency-Key": str(uuid.uuid4())})
        answer.raise_for_status()
        results = answer.json()["results"]
        wrong = [r for r in results if r["status"] != expect]
        if wrong:
            raise SystemExit(f"{len(wrong)} results not {expect!r}, e.g. {wrong[0]}")
    return time.perf_counter() - started


def copy_ceiling(url: str, orders: list[dict], batch: int) -> float:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(COPY_DDL)
        conn.commit()
        started = time.perf_counter()
        for start in range(0, len(orders), batch):
            chunk = orders[start : start + batch]
            with conn.transaction(), conn.cursor() as cursor:
                with cursor.copy("COPY bench_copy_wo FROM STDIN") as copy:
                    for o in chunk:
                        copy.write_row(
                            (
                                o["erp_number"],
                                o["site"],
                                o["item"],
                                o["quantity"],
                                o["due_date"],
                                o["erp_version"],
                                o.get("status", "active"),
                            )
                        )
                with cursor.copy("COPY bench_copy_op FROM STDIN") as copy:
                    for o in chunk:
                        for op in o["operations"]:
                            copy.write_row(
                                (
                                    o["erp_number"],
                                    op["sequence"],
                                    op["work_center"],
                                    op["setup_minutes"],
                                    op["run_minutes_per_unit"],
                                )
                            )
                with cursor.copy("COPY bench_copy_comp FROM STDIN") as copy:
                    for o in chunk:
                        for c in o["components"]:
                            copy.write_row((o["erp_number"], c["item"], c["quantity"]))
        elapsed = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM bench_copy_op").fetchone()[0]
        assert rows == len(orders) * OPERATIONS, rows
    return elapsed


def setup_erp_account() -> str:
    from django.contrib.auth.models import Group, User

    from mes import services
    from mes.access import grant_site_access
    from mes.models import Site
    from mes.services.tokens import create_token

    user = User.objects.create_user("bench_erp", password=secrets.token_urlsafe(16))
    user.groups.add(Group.objects.get(name="erp_integration"))
    for site in load("sites.json"):
        row = services.save_master_record(
            Site(code=site["code"], name=site["name"], timezone=site["timezone"]),
            actor=None,
            reason="bench",
        )
        grant_site_access(user, row)
    return create_token(user, actor=None, name="bench")[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)
    if not (PLANT / "work_orders.json").exists():
        print(f"plant-q3 data not found at {PLANT} (set ANDON_PLANT_DATA)", file=sys.stderr)
        return 2

    server_url = os.environ.get("DATABASE_URL", "")
    os.environ.update(
        {
            "DATABASE_URL": bench_database_url(server_url),
            "REDIS_URL": args.redis_url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "BENCH_QUEUE": f"andon-erp-{secrets.token_hex(4)}",
            "CHANNEL_PREFIX": f"erp{secrets.token_hex(3)}",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    env = dict(os.environ)
    recreate_database(server_url)
    for command in (["migrate"], ["collectstatic"]):
        subprocess.run(
            [sys.executable, "manage.py", *command, "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=600,
        )
    import django

    django.setup()
    import httpx

    token = setup_erp_account()
    orders = bench_orders()
    port = free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_dir = RESULTS / "logs-erp-ingest"
    log_dir.mkdir(exist_ok=True)
    deadline = time.monotonic() + 1800
    with Processes(log_dir) as procs:
        procs.start("worker", worker_argv(env["BENCH_QUEUE"], 2), env)
        procs.start("uvicorn", server_argv(port), env)
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/login/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, deadline, "uvicorn", procs)
        wait_until(lambda: "ready." in procs.log("worker"), deadline, "the worker", procs)
        headers = {"Authorization": f"Token {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
            post_batches(
                http, "/api/v1/erp/items/batch/", "items", load("items.json"), 1000, "created"
            )
            post_batches(
                http,
                "/api/v1/erp/work-centers/batch/",
                "work_centers",
                load("work_centers.json"),
                1000,
                "created",
            )
            wait_drained(deadline)
            url = "/api/v1/erp/work-orders/batch/"
            api_seconds = post_batches(http, url, "orders", orders, args.batch, "created")
            drained = wait_drained(deadline)
            resend_seconds = post_batches(http, url, "orders", orders, args.batch, "unchanged")
    copy_seconds = copy_ceiling(bench_database_url(server_url), orders, args.batch)
    result = {
        "orders": len(orders),
        "operations_per_order": OPERATIONS,
        "components": sum(len(o["components"]) for o in orders),
        "batch": args.batch,
        "api_seconds": round(api_seconds, 2),
        "api_orders_per_s": round(len(orders) / api_seconds, 1),
        "outbox_drained_after_s": round(drained, 2),
        "resend_orders_per_s": round(len(orders) / resend_seconds, 1),
        "copy_seconds": round(copy_seconds, 3),
        "copy_orders_per_s": round(len(orders) / copy_seconds, 1),
        "ratio": round(copy_seconds / api_seconds, 4),
        "load": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    (RESULTS / "erp-ingest-latest.json").write_text(json.dumps(result, indent=2))
    print(
        f"ERP batch ingest, {result['orders']} orders × {OPERATIONS} operations "
        f"(+{result['components']} components), batches of {args.batch}:\n"
        f"  API     {result['api_orders_per_s']:>9} orders/s  ({result['api_seconds']} s; "
        f"outbox relayed {result['outbox_drained_after_s']} s later)\n"
        f"  resend  {result['resend_orders_per_s']:>9} orders/s  (all unchanged)\n"
        f"  COPY    {result['copy_orders_per_s']:>9} orders/s  ({result['copy_seconds']} s)\n"
        f"  API / COPY = {result['ratio']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
