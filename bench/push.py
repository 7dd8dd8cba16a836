"""Push latency: from a REST raise to the websocket receipt, for 1, 100 and 500 connected clients.

Run by ``make bench`` after ``run.py``. It recreates ``andon_bench``, seeds P1, a supervisor
who raises and 500 planners of P1 (the default rule notifies planners of every shortage), and
starts, as ``make run`` does, uvicorn for the websockets (one process), gunicorn for HTTP
(4 sync workers, persistent connections) and a Celery worker on the Redis channel layer and
broker. For each client count N it connects N planners to ``/ws/notifications/`` (token in
the Authorization header), raises ``--raises`` shortages one after another over REST and
records, for every client, the time from sending the POST to receiving that ticket's
``raised`` push. The path measured is the whole one: request, commit, outbox relay through
Redis to the worker, rule engine, notification rows for all N recipients, ``group_send``
through Redis, websocket.
Results: stdout and ``bench/results/push-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    RESULTS,
    SITE,
    Processes,
    bench_database_url,
    gunicorn_argv,
    percentile,
    recreate_database,
    seed,
    wait_until,
)
from tests.processes import free_port, server_argv, worker_argv  # noqa: E402


def planners(count: int) -> list[str]:
    """``count`` planners of P1 with API tokens (bulk: no password hashing)."""
    from datetime import timedelta

    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from mes import config_cache
    from mes.access import grant_site_access
    from mes.models import ApiToken, Site
    from mes.models.tokens import digest_of, new_key

    crew = Group.objects.create(name="bench_p1_crew")
    grant_site_access(crew, Site.objects.get(code=SITE))
    users = User.objects.bulk_create(
        [User(username=f"planner_{i:04d}", password="!") for i in range(count)]  # noqa: S106 - unusable
    )
    planner = Group.objects.get(name="planner")
    through = User.groups.through
    through.objects.bulk_create(
        [through(user_id=u.pk, group_id=g.pk) for u in users for g in (planner, crew)]
    )
    # Straight rows, not the service (thousands of tokens; no events needed for a bench).
    keys = [new_key() for _ in users]
    expires = timezone.now() + timedelta(days=1)
    ApiToken.objects.bulk_create(
        [
            ApiToken(user=u, name="bench", prefix=k[:12], digest=digest_of(k), expires_at=expires)
            for u, k in zip(users, keys, strict=True)
        ]
    )
    config_cache.bump()  # roles given in bulk, past the signals: a new generation
    return keys


def keep_planners(count: int) -> None:
    """Only the first ``count`` bench planners keep the role, so a raise notifies exactly the
    connected clients (the fan-out measured is the one of N recipients)."""
    from django.contrib.auth.models import Group, User

    from mes import config_cache

    planner = Group.objects.get(name="planner")
    through = User.groups.through
    bench_users = User.objects.filter(username__startswith="planner_").order_by("username")
    through.objects.filter(group=planner, user__in=bench_users).delete()
    through.objects.bulk_create(
        [
            through(user_id=pk, group_id=planner.pk)
            for pk in bench_users.values_list("pk", flat=True)[:count]
        ]
    )
    config_cache.bump()


async def scenario(ws_base, api_base, headers, tokens, orders, raises, timeout) -> dict:
    import httpx
    import websockets

    clients = []
    for key in tokens:
        ws = await websockets.connect(
            f"{ws_base}/ws/notifications/",
            additional_headers={"Authorization": f"Token {key}"},
            max_queue=None,
        )
        hello = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        assert hello["type"] == "hello", hello
        clients.append(ws)
    latencies: list[float] = []
    answered: list[float] = []  # the POST's own time: the rest is relay and push
    missing = 0
    missed: list[int] = []  # the raises some client never got
    async with httpx.AsyncClient(base_url=api_base, headers=headers, timeout=timeout) as http:
        for n in range(raises):
            body = {
                "type": "material_shortage",
                "site": SITE,
                "work_order": orders[n % len(orders)],
                "data": {"material": "RM-1", "qty_missing": 5},
            }
            sent = time.perf_counter()
            response = await http.post("/api/v1/exceptions/", json=body)
            answered.append((time.perf_counter() - sent) * 1000)
            assert response.status_code == 201, response.text
            link = f"/exceptions/{response.json()['id']}/"

            async def receive(ws, link=link, sent=sent):
                while True:
                    message = json.loads(await ws.recv())
                    if message.get("type") == "notification" and message.get("link") == link:
                        if message.get("kind") == "raised":
                            return time.perf_counter() - sent

            results = await asyncio.gather(
                *(asyncio.wait_for(receive(ws), timeout) for ws in clients),
                return_exceptions=True,
            )
            lost = [r for r in results if not isinstance(r, float)]
            latencies.extend(r * 1000 for r in results if isinstance(r, float))
            if lost:
                missing += len(lost)
                missed.append(n)
    for ws in clients:
        await ws.close()
    latencies.sort()
    return {
        "clients": len(tokens),
        "raises": raises,
        "receipts": len(latencies),
        "missing": missing,
        "missed_raises": missed,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "post_p50_ms": round(percentile(sorted(answered), 50), 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,100,500")
    parser.add_argument("--raises", type=int, default=20)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument(
        "--server-workers",
        type=int,
        default=1,
        help="uvicorn processes; each drains its sockets' pushes from Redis one at a time",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="write what the channel layer sends and pops to bench/results/trace-push/",
    )
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.clients.split(",")]

    server_url = os.environ.get("DATABASE_URL", "")
    os.environ.update(
        {
            "DATABASE_URL": bench_database_url(server_url),
            "REDIS_URL": args.redis_url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "BENCH_QUEUE": f"andon-push-{secrets.token_hex(4)}",
            "CHANNEL_PREFIX": f"push{secrets.token_hex(3)}",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    if args.trace:
        trace_dir = RESULTS / "trace-push"
        trace_dir.mkdir(parents=True, exist_ok=True)
        for old in trace_dir.glob("*.jsonl"):
            old.unlink()
        os.environ["BENCH_TRACE_DIR"] = str(trace_dir)
    env = dict(os.environ)
    recreate_database(server_url)
    for command in (["migrate"], ["collectstatic"]):  # as a production deploy does
        subprocess.run(
            [sys.executable, "manage.py", *command, "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=600,
        )
    import django

    django.setup()
    seeded = seed(work_orders=20)
    tokens = planners(max(counts))
    headers = {"Authorization": f"Token {seeded['token']}"}
    port = api_port = free_port()
    while api_port == port:
        api_port = free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_dir = RESULTS / "logs-push"
    log_dir.mkdir(exist_ok=True)
    deadline = time.monotonic() + 1200
    results = []
    with Processes(log_dir) as procs:
        procs.start("worker", worker_argv(env["BENCH_QUEUE"], 2), env)
        procs.start("uvicorn", server_argv(port, args.server_workers), env)
        # HTTP as make run serves it: gunicorn sync workers with persistent connections.
        procs.start("gunicorn", gunicorn_argv(api_port, 4), {**env, "CONN_MAX_AGE": "60"})
        wait_until(lambda: "ready." in procs.log("worker"), deadline, "the worker", procs)

        def up(port) -> bool:
            import httpx

            try:
                return httpx.get(f"http://127.0.0.1:{port}/login/", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(lambda: up(port), deadline, "uvicorn", procs)
        wait_until(lambda: up(api_port), deadline, "gunicorn", procs)
        for count in counts:
            keep_planners(count)
            result = asyncio.run(
                scenario(
                    f"ws://127.0.0.1:{port}",
                    f"http://127.0.0.1:{api_port}",
                    headers,
                    tokens[:count],
                    seeded["work_orders"],
                    args.raises,
                    args.timeout,
                )
            )
            results.append(result)
            if result["missing"]:  # where to look: what the worker and the ASGI server logged
                for name in ("worker", "uvicorn"):
                    for line in procs.log(name).splitlines():
                        if "ERROR" in line or "could not push" in line or "Error" in line:
                            print(f"  {name}: {line}", flush=True)
            print(
                f"{count:>4} clients: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
                f"max {result['max_ms']} ms (the POST's own p50 {result['post_p50_ms']} ms), "
                f"{result['receipts']} receipts, "
                f"{result['missing']} missing (raises {result['missed_raises']})",
                flush=True,
            )
    for result in results:
        result["server_workers"] = args.server_workers
    (RESULTS / "push-latest.json").write_text(json.dumps(results, indent=2))
    return 0 if all(r["missing"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
