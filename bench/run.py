"""Raise-exception API throughput and latency against a ceiling, A B A B in one run.

``make bench`` runs this with ``DATABASE_URL`` pointing at a PostgreSQL server. It:

1. drops and creates the database ``andon_bench`` on that server and migrates it (seeded
   defaults: roles, exception types, routing rules);
2. seeds a plant P1, work centers, running work orders and a supervisor with an API token;
3. starts, on ``bench.settings`` (production settings, ``DEBUG=0``), the **ceiling** server in
   the fastest configuration found for it (gunicorn, ``--ceiling-workers`` sync workers,
   persistent connections) and the **API** server as ``make run`` serves HTTP (gunicorn,
   ``--api-workers`` sync workers, ``--api-threads`` > 1 threaded, ``CONN_MAX_AGE=60``);
4. request path only (no Celery worker): for each client count (``--clients``, 8 and 32)
   ceiling, API, ceiling, API for ``--seconds`` each, every request timed;
5. with a Celery worker running: the same, and after each API round the seconds until the
   outbox is empty (every routing rule applied);
6. prints a table, writes JSON to ``bench/results/``; stops every process it started.

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
import sys
import time
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script (``python bench/run.py``): import the project

from bench.common import (  # noqa: E402
    BENCH_DB,
    BODY_DATA,
    RESULTS,
    SITE,
    BenchError,
    Processes,
    bench_environment,
    drive_for,
    effects,
    fresh_database,
    gunicorn_argv,
    outbox_state,
    seed,
    wait_drained,
    wait_until,
)
from tests.processes import free_port, worker_argv  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=float(env("BENCH_SECONDS", "20")))
    p.add_argument("--clients", default=env("BENCH_CLIENTS", "8,32"))
    p.add_argument("--work-orders", type=int, default=int(env("BENCH_WORK_ORDERS", "200")))
    p.add_argument("--warmup", type=float, default=float(env("BENCH_WARMUP_SECONDS", "3")))
    p.add_argument("--ceiling-workers", type=int, default=int(env("BENCH_CEILING_WORKERS", "4")))
    p.add_argument("--api-workers", type=int, default=int(env("BENCH_API_WORKERS", "4")))
    p.add_argument("--api-threads", type=int, default=int(env("BENCH_API_THREADS", "1")))
    p.add_argument("--celery-concurrency", type=int, default=int(env("BENCH_CELERY", "2")))
    p.add_argument("--redis-url", default=env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    p.add_argument("--skip-worker", action="store_true", help="request path only")
    p.add_argument(
        "--timeout", type=float, default=float(env("BENCH_TIMEOUT", "1800")), help="deadline"
    )
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    started_at = datetime.datetime.now(datetime.UTC)
    load_at_start = os.getloadavg()[0]  # other work on the machine skews every figure
    deadline = time.monotonic() + args.timeout
    server_url = os.environ.get("DATABASE_URL", "")
    queue = f"andon-bench-{secrets.token_hex(4)}"
    env = bench_environment(server_url, args.redis_url, queue)
    served = {**env, "CONN_MAX_AGE": "60"}
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    log_dir = RESULTS / f"logs-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)

    print(f"database {BENCH_DB}: drop, create, migrate", flush=True)
    fresh_database(server_url, env)

    import redis
    from django.db import connection

    broker = redis.Redis.from_url(args.redis_url)
    broker.ping()
    print(f"seeding {args.work_orders} running work orders", flush=True)
    seeded = seed(args.work_orders)
    headers = {"Authorization": f"Token {seeded['token']}"}
    orders = seeded["work_orders"]

    def body(i: int) -> dict:
        return {
            "type": "material_shortage",
            "site": SITE,
            "work_order": orders[i % len(orders)],
            "data": BODY_DATA,
        }

    ports = {"ceiling": free_port(), "api": free_port()}
    urls = {
        "ceiling": f"http://127.0.0.1:{ports['ceiling']}/bench/ceiling/",
        "api": f"http://127.0.0.1:{ports['api']}/api/v1/exceptions/",
    }
    rounds: list[dict] = []
    with Processes(log_dir) as procs:
        procs.start("ceiling", gunicorn_argv(ports["ceiling"], args.ceiling_workers), served)
        procs.start("api", gunicorn_argv(ports["api"], args.api_workers, args.api_threads), served)
        for name, port in ports.items():
            wait_until(_up(port, headers), deadline, f"the {name} server", procs)

        def measure(phase: str, worker: bool) -> None:
            for n in clients:
                for turn in (1, 2):
                    for target in ("ceiling", "api"):
                        print(f"{phase}: {target}, {n} clients, round {turn}", flush=True)
                        row = drive_for(urls[target], body, headers, n, args.seconds, deadline)
                        row.update(phase=phase, target=target, round=turn)
                        if worker and target == "api":
                            row["backlog_at_end"] = outbox_state()["undelivered"]
                            row["drain_seconds"] = round(wait_drained(deadline, poll=0.05), 2)
                        rounds.append(row)
                        procs.check_alive()

        for target in ("ceiling", "api"):  # warm-up, not measured: imports, connections
            drive_for(urls[target], body, headers, max(clients), args.warmup, deadline)
        measure("request path", worker=False)
        if not args.skip_worker:
            # The request-path rounds ran without a worker: their events are the bench's
            # own leftovers, not load of the next phase.
            from mes.models import OutboxEvent

            left = OutboxEvent.objects.filter(delivered_at__isnull=True)
            print(f"{left.count()} events of the request-path rounds set aside", flush=True)
            left.update(delivered_at=datetime.datetime.now(datetime.UTC))
            procs.start("worker", worker_argv(queue, args.celery_concurrency), env)
            wait_until(lambda: "ready." in procs.log("worker"), deadline, "the worker", procs)
            since = _last_ticket()
            measure("with worker", worker=True)
            applied = effects(since)
        else:
            applied = {}
        outbox = outbox_state()

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(",")[0]
    result = {
        "started_at": started_at.isoformat(),
        "config": {
            "seconds_per_round": args.seconds,
            "clients": clients,
            "work_orders": args.work_orders,
            "ceiling": f"gunicorn {args.ceiling_workers} sync workers, CONN_MAX_AGE=60",
            "api": f"gunicorn {args.api_workers} x {args.api_threads} threads, CONN_MAX_AGE=60",
            "celery_concurrency": args.celery_concurrency,
            "cpus": os.cpu_count(),
            "loadavg_1m_at_start": round(load_at_start, 2),
            "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "postgres": pg_version,
        },
        "rounds": rounds,
        "summary": summarise(rounds),
        "rules": {**applied, "outbox_events_failed": outbox["failed"]},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"bench-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    broker.delete(queue)
    print_report(result, out)
    failed = any(r["errors"] for r in rounds) or outbox["failed"]
    return 1 if failed else 0


def _up(port: int, headers: dict):
    def check() -> bool:
        import httpx

        try:
            r = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/exception-types/", headers=headers, timeout=2
            )
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    return check


def _last_ticket() -> int:
    from exceptions.models import ExceptionTicket

    return ExceptionTicket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def summarise(rounds: list[dict]) -> list[dict]:
    """Per phase and client count: mean req/s of each target over its rounds, the ratio, the
    worst p99 of the API, the longest drain."""
    summary = []
    for phase in dict.fromkeys(r["phase"] for r in rounds):
        for n in dict.fromkeys(r["clients"] for r in rounds if r["phase"] == phase):
            of = [r for r in rounds if r["phase"] == phase and r["clients"] == n]
            ceiling = mean(r["throughput_rps"] for r in of if r["target"] == "ceiling")
            api_rounds = [r for r in of if r["target"] == "api"]
            api = mean(r["throughput_rps"] for r in api_rounds)
            drains = [r["drain_seconds"] for r in api_rounds if "drain_seconds" in r]
            summary.append(
                {
                    "phase": phase,
                    "clients": n,
                    "ceiling_rps": round(ceiling, 1),
                    "api_rps": round(api, 1),
                    "api_over_ceiling": round(api / ceiling, 3) if ceiling else None,
                    "api_p99_ms": max(r["p99_ms"] for r in api_rounds),
                    "drain_seconds": max(drains) if drains else None,
                }
            )
    return summary


def print_report(result: dict, path: Path) -> None:
    cfg = result["config"]
    print()
    print(
        f"{cfg['seconds_per_round']} s per round; ceiling: {cfg['ceiling']}; API: {cfg['api']}; "
        f"celery x{cfg['celery_concurrency']}; {cfg['cpus']} CPUs (load "
        f"{cfg['loadavg_1m_at_start']} -> {cfg['loadavg_1m_at_end']}), {cfg['postgres']}"
    )
    head = f"{'phase':<14}{'clients':>8}{'target':>9}{'round':>6}"
    print(f"{head}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>7}{'drain s':>9}")
    for r in result["rounds"]:
        print(
            f"{r['phase']:<14}{r['clients']:>8}{r['target']:>9}{r['round']:>6}"
            f"{r['throughput_rps']:>9}{r['p50_ms']:>9}{r['p99_ms']:>9}{r['max_ms']:>9}"
            f"{r['errors']:>7}{r.get('drain_seconds', ''):>9}"
        )
    print()
    print(
        f"{'phase':<14}{'clients':>8}{'ceiling':>9}{'API':>9}{'ratio':>8}{'API p99':>9}{'drain':>7}"
    )
    for s in result["summary"]:
        print(
            f"{s['phase']:<14}{s['clients']:>8}{s['ceiling_rps']:>9}{s['api_rps']:>9}"
            f"{s['api_over_ceiling']:>8}{s['api_p99_ms']:>9}{s['drain_seconds'] or '':>7}"
        )
    rules = result["rules"]
    if rules.get("tickets"):
        print(
            f"rules (with worker): {rules['queued_to_procurement']}/{rules['tickets']} tickets "
            f"queued to procurement, {rules['work_orders_held']} orders held, "
            f"{rules['rule_failures']} rule failures, {rules['outbox_events_failed']} failed events"
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
