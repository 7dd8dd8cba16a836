"""What the benches share: the bench database, seeding a plant, the outbox's state, waiting
against a deadline, and driving a load of POSTs from threads."""

from __future__ import annotations

import math
import secrets
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: import the project

from tests.processes import Processes, ProcessFailed  # noqa: E402
from tests.processes import wait_until as processes_wait_until  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BENCH_DB = "andon_bench"
SITE = "P1"
BODY_DATA = {"material": "RM-1", "qty_missing": 5}


class BenchError(ProcessFailed):
    pass


# --- database ------------------------------------------------------------------------------


def bench_database_url(server_url: str) -> str:
    parsed = urlparse(server_url)
    if not parsed.scheme.startswith("postgres"):
        raise BenchError(f"the bench needs PostgreSQL; DATABASE_URL is {server_url!r}")
    return urlunparse(parsed._replace(path=f"/{BENCH_DB}"))


def bench_environment(server_url: str, redis_url: str, queue: str, **extra: str) -> dict:
    """Set (and return) the environment of a bench and the processes it starts: the bench
    database, production settings with ``DEBUG=0`` and a throw-away key, its own queue."""
    import os

    os.environ.update(
        {
            "DATABASE_URL": bench_database_url(server_url),
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "BENCH_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **extra,
        }
    )
    return dict(os.environ)


def recreate_database(server_url: str) -> None:
    import psycopg

    parsed = urlparse(server_url)
    maintenance = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def fresh_database(server_url: str, env: dict) -> None:
    """Drop, create and migrate the bench database, then set Django up on it."""
    import subprocess

    recreate_database(server_url)
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    import django

    django.setup()


def seed(work_orders: int) -> dict:
    """P1 with work centers, ``work_orders`` running orders, a supervisor with a token, and
    the ceiling's table. Everything through the services, as the ERP and admins would."""
    import datetime as dt
    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from django.db import connection

    from bench.urls import CEILING_DDL
    from mes import services
    from mes.access import grant_site_access
    from mes.models import Item, Site, WorkCenter
    from mes.services.tokens import create_token

    site = services.save_master_record(
        Site(code=SITE, name="Bench plant", timezone="Europe/Warsaw"), actor=None, reason="bench"
    )
    centers = [
        services.save_master_record(
            WorkCenter(site=site, code=f"WC{i}", name=f"Cell {i}", kind="machining"),
            actor=None,
            reason="bench",
        )
        for i in range(1, 5)
    ]
    item = services.save_master_record(
        Item(code="FG-1", name="Bracket", kind="finished", unit="pcs"), actor=None, reason="bench"
    )
    numbers = []
    for i in range(work_orders):
        wo = services.create_work_order(
            site=site,
            erp_number=f"WO-{i + 1:05d}",
            item=item,
            planned_qty="100",
            due_date=dt.date(2030, 1, 1),
            operations=[
                services.OperationSpec(
                    sequence=10,
                    work_center=centers[i % len(centers)],
                    setup_minutes=Decimal(10),
                    run_minutes_per_unit=Decimal("0.5"),
                )
            ],
            actor=None,
        )
        wo = services.release_work_order(wo, actor=None)
        wo = services.start_work_order(wo, actor=None)
        numbers.append(wo.erp_number)
    user = User.objects.create_user("bench_supervisor", password=secrets.token_urlsafe(16))
    user.groups.add(Group.objects.get(name="supervisor"))
    grant_site_access(user, site)
    _token, key = create_token(user, actor=None, name="bench")
    with connection.cursor() as cursor:
        cursor.execute(CEILING_DDL)
    return {"token": key, "work_orders": numbers}


def outbox_state() -> dict:
    from django.db import connection
    from django.db.models import Count, Q

    from mes.models import OutboxEvent

    connection.close_if_unusable_or_obsolete()
    return OutboxEvent.objects.aggregate(
        total=Count("pk"),
        undelivered=Count("pk", filter=Q(delivered_at__isnull=True)),
        failed=Count("pk", filter=~Q(last_error="")),
    )


def wait_drained(deadline: float, poll: float = 0.2) -> float:
    """Seconds until no outbox event is left undelivered."""
    start = time.monotonic()
    while outbox_state()["undelivered"]:
        if time.monotonic() > deadline:
            raise BenchError(f"the outbox did not drain in time: {outbox_state()}")
        time.sleep(poll)
    return time.monotonic() - start


def effects(since_pk: int) -> dict:
    """What the rules did to the tickets raised by the measured run."""
    from exceptions.models import ExceptionEvent, ExceptionTicket

    tickets = ExceptionTicket.objects.filter(pk__gt=since_pk)
    events = ExceptionEvent.objects.filter(exception__pk__gt=since_pk)
    return {
        "tickets": tickets.count(),
        "queued_to_procurement": tickets.filter(queue__name="procurement").count(),
        "work_orders_held": events.filter(kind="work_order_held").count(),
        "notified": events.filter(kind="notified").count(),
        "rule_failures": events.filter(kind="rule_failed").count(),
    }


# --- processes -----------------------------------------------------------------------------


def wait_until(predicate, deadline: float, what: str, procs: Processes) -> None:
    """:func:`tests.processes.wait_until` against an absolute ``time.monotonic()`` deadline."""
    processes_wait_until(predicate, deadline - time.monotonic(), what, procs.check_alive, 0.2)


# --- load ----------------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def gunicorn_argv(port: int, workers: int, threads: int = 1) -> list[str]:
    """gunicorn on a loopback port: sync workers (``threads`` 1) or threaded ones."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "andon.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    if threads > 1:
        argv += ["--worker-class", "gthread", "--threads", str(threads)]
    return argv


def drive_for(
    url: str, make_body, headers: dict, concurrency: int, seconds: float, deadline: float
) -> dict:
    """POST ``make_body(i)`` from ``concurrency`` threads (one keep-alive client each) for
    ``seconds``; every request must answer 201."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    stop_at = min(time.monotonic() + seconds, deadline)

    def worker():
        with httpx.Client(headers=headers, timeout=30.0) as client:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(counter)
                started = time.perf_counter()
                try:
                    response = client.post(url, json=make_body(i))
                    ok, detail = response.status_code == 201, response.text[:200]
                except httpx.HTTPError as exc:
                    ok, detail = False, repr(exc)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(detail)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic()))
    wall = time.perf_counter() - started
    done = sorted(latencies)
    return {
        "clients": concurrency,
        "requests": len(done),
        "errors": len(errors),
        "error_samples": errors[:3],
        "seconds": round(wall, 3),
        "throughput_rps": round(len(done) / wall, 1) if wall else 0.0,
        "p50_ms": round(percentile(done, 50) * 1000, 1),
        "p99_ms": round(percentile(done, 99) * 1000, 1),
        "max_ms": round(done[-1] * 1000, 1) if done else float("nan"),
    }


def in_process_database(name: str, what: str, *, keep: bool = False) -> bool:
    """For a bench that runs Django in its own process (no servers): drop and create the
    database ``name`` on ``DATABASE_URL``'s server (``keep``: use it as it is, if it exists),
    point production settings (``DEBUG`` off, no Redis: relays run in-process, not measured)
    at it and set Django up. False when ``DATABASE_URL`` is not PostgreSQL."""
    import os

    import psycopg

    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/andon")
    if not server.startswith("postgres"):
        print(f"the {what} bench needs PostgreSQL (DATABASE_URL)", file=sys.stderr)
        return False
    admin = urlunparse(urlparse(server)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not (keep and found):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunparse(urlparse(server)._replace(path=f"/{name}"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    return True
