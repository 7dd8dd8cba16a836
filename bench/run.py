"""Raise-exception API throughput and latency against a bare insert view (the ceiling).

``make bench`` runs this with ``DATABASE_URL`` pointing at a PostgreSQL server. It:

1. drops and creates the database ``andon_bench`` on that server and migrates it (seeded
   defaults: roles, exception types, routing rules);
2. seeds a plant P1, work centers, running work orders and a supervisor with an API token;
3. starts a Celery worker (its own queue on Redis) and uvicorn with 2 workers on a free
   127.0.0.1 port, both on ``bench.settings`` (production settings, ``DEBUG=0``);
4. sends a bounded number of POSTs with a bounded number of threads, first to
   ``/bench/ceiling/`` then to ``/api/v1/exceptions/``, timing each request;
5. waits for the worker to drain the outbox (routing rules applied) and times that;
6. prints a table and writes JSON to ``bench/results/``; stops every process it started.

Everything listens on 127.0.0.1 only; every wait has a deadline.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script (``python bench/run.py``): import the project

from bench.common import (  # noqa: E402
    BENCH_DB,
    BODY_DATA,
    RESULTS,
    SITE,
    BenchError,
    Processes,
    bench_database_url,
    drive,
    effects,
    outbox_state,
    recreate_database,
    seed,
    wait_drained,
    wait_until,
)
from tests.processes import free_port, server_argv, worker_argv  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=int(env("BENCH_REQUESTS", "2000")))
    p.add_argument("--concurrency", type=int, default=int(env("BENCH_CONCURRENCY", "16")))
    p.add_argument("--work-orders", type=int, default=int(env("BENCH_WORK_ORDERS", "200")))
    p.add_argument("--warmup", type=int, default=int(env("BENCH_WARMUP", "100")))
    p.add_argument("--server-workers", type=int, default=int(env("BENCH_SERVER_WORKERS", "2")))
    p.add_argument("--celery-concurrency", type=int, default=int(env("BENCH_CELERY", "2")))
    p.add_argument("--redis-url", default=env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    p.add_argument(
        "--timeout", type=float, default=float(env("BENCH_TIMEOUT", "1200")), help="seconds"
    )
    args = p.parse_args(argv)
    if not (0 < args.requests <= 100_000 and 0 < args.concurrency <= 256):
        p.error("keep --requests within 1..100000 and --concurrency within 1..256")
    return args


# --- run -----------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    started_at = datetime.datetime.now(datetime.UTC)
    load_at_start = os.getloadavg()[0]  # other work on the machine skews every figure
    deadline = time.monotonic() + args.timeout
    server_url = os.environ.get("DATABASE_URL", "")
    database_url = bench_database_url(server_url)
    queue = f"andon-bench-{secrets.token_hex(4)}"
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": args.redis_url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "BENCH_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    env = dict(os.environ)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    log_dir = RESULTS / f"logs-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)

    print(f"database {BENCH_DB}: drop, create, migrate", flush=True)
    recreate_database(server_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )

    import django

    django.setup()
    import redis
    from django.db import connection

    broker = redis.Redis.from_url(args.redis_url)
    broker.ping()
    print(f"seeding {args.work_orders} running work orders", flush=True)
    seeded = seed(args.work_orders)
    headers = {"Authorization": f"Token {seeded['token']}"}
    orders = seeded["work_orders"]

    def bodies(n: int, offset: int = 0) -> list[dict]:
        return [
            {
                "type": "material_shortage",
                "site": SITE,
                "work_order": orders[(offset + i) % len(orders)],
                "data": BODY_DATA,
            }
            for i in range(n)
        ]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with Processes(log_dir) as procs:
        procs.start("worker", worker_argv(queue, args.celery_concurrency), env)
        procs.start("uvicorn", server_argv(port, args.server_workers), env)
        wait_until(lambda: "ready." in procs.log("worker"), deadline, "the Celery worker", procs)

        def server_up() -> bool:
            import httpx

            try:
                r = httpx.get(f"{base}/api/v1/exception-types/", headers=headers, timeout=2)
            except httpx.HTTPError:
                return False
            return r.status_code == 200

        wait_until(server_up, deadline, "uvicorn", procs)
        print("worker and server up; draining the seed's events", flush=True)
        wait_drained(deadline)

        # Warm-up (not measured): imports, connections, caches of both targets.
        drive(f"{base}/bench/ceiling/", bodies(args.warmup), {}, args.concurrency, deadline)
        drive(
            f"{base}/api/v1/exceptions/", bodies(args.warmup), headers, args.concurrency, deadline
        )
        wait_drained(deadline)
        from exceptions.models import ExceptionTicket

        last_before = ExceptionTicket.objects.order_by("-pk").values_list("pk", flat=True).first()
        print(f"ceiling: {args.requests} POSTs, {args.concurrency} threads", flush=True)
        ceiling = drive(
            f"{base}/bench/ceiling/", bodies(args.requests), {}, args.concurrency, deadline
        )
        procs.check_alive()
        print(f"API: {args.requests} POSTs, {args.concurrency} threads", flush=True)
        events_before = outbox_state()["total"]
        load_started = time.monotonic()
        api = drive(
            f"{base}/api/v1/exceptions/",
            bodies(args.requests, offset=args.warmup),
            headers,
            args.concurrency,
            deadline,
        )
        load_ended = time.monotonic()
        backlog = outbox_state()["undelivered"]
        drain_after_load = wait_drained(deadline, poll=0.1)
        outbox = outbox_state()
        procs.check_alive()

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(",")[0]
    applied = effects(last_before or 0)
    events_in_run = outbox["total"] - events_before
    rules_seconds = load_ended - load_started + drain_after_load
    result = {
        "started_at": started_at.isoformat(),
        "config": {
            "requests_per_target": args.requests,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "work_orders": args.work_orders,
            "uvicorn_workers": args.server_workers,
            "celery_concurrency": args.celery_concurrency,
            "conn_max_age": os.environ.get("CONN_MAX_AGE", "0"),
            "cpus": os.cpu_count(),
            "loadavg_1m_at_start": round(load_at_start, 2),
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "postgres": pg_version,
        },
        "ceiling": ceiling,
        "api": api,
        "ratio": {
            "throughput_api_over_ceiling": round(
                api["throughput_rps"] / ceiling["throughput_rps"], 3
            ),
            "p50_api_over_ceiling": round(api["p50_ms"] / ceiling["p50_ms"], 2),
            "p99_api_over_ceiling": round(api["p99_ms"] / ceiling["p99_ms"], 2),
        },
        "rules": {
            "outbox_backlog_at_load_end": backlog,
            "drain_seconds_after_load": round(drain_after_load, 2),
            "seconds_from_first_raise_to_all_rules_applied": round(rules_seconds, 2),
            "outbox_events_in_run": events_in_run,
            "outbox_events_failed": outbox["failed"],
            **applied,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    broker.delete(queue)
    print_report(result, out)
    return 0 if not (api["errors"] or ceiling["errors"] or outbox["failed"]) else 1


def print_report(result: dict, path: Path) -> None:
    c, a, r, rules = result["ceiling"], result["api"], result["ratio"], result["rules"]
    cfg = result["config"]
    print()
    print(
        f"{cfg['requests_per_target']} requests per target, {cfg['concurrency']} client threads, "
        f"uvicorn x{cfg['uvicorn_workers']}, celery x{cfg['celery_concurrency']}, "
        f"{cfg['cpus']} CPUs (load {cfg['loadavg_1m_at_start']} -> {cfg['loadavg_1m_at_end']}), "
        f"{cfg['postgres']}"
    )
    print(f"{'target':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    for name, row in (("ceiling: bare insert view", c), ("API: POST /api/v1/exceptions/", a)):
        print(
            f"{name:<34}{row['throughput_rps']:>9}{row['p50_ms']:>9}{row['p99_ms']:>9}"
            f"{row['max_ms']:>9}{row['errors']:>8}"
        )
    print(
        f"{'API / ceiling':<34}{r['throughput_api_over_ceiling']:>9}"
        f"{r['p50_api_over_ceiling']:>9}{r['p99_api_over_ceiling']:>9}"
    )
    print(
        f"rules: {rules['outbox_backlog_at_load_end']} outbox events pending at load end, drained "
        f"{rules['drain_seconds_after_load']} s after it ({rules['outbox_events_in_run']} events, "
        f"{rules['outbox_events_failed']} failed); {rules['queued_to_procurement']}/"
        f"{rules['tickets']} tickets queued to procurement, {rules['work_orders_held']} orders "
        f"held, {rules['rule_failures']} rule failures"
    )
    print(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":

    def _stop(signum, frame):
        raise SystemExit(128 + signum)  # unwinds through Processes.__exit__

    signal.signal(signal.SIGTERM, _stop)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(2)
