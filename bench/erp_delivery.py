"""Outbound ERP delivery rate: events relayed from the outbox and POSTed to a local ERP stub.

Run by ``make bench``. Recreates ``andon_bench``, seeds P1 with ``--work-orders`` running
orders (default 200) and an endpoint that receives holds and resumes, mapped to a small JSON
body, HMAC-signed, at a loopback ERP stub that applies by Idempotency-Key and answers 200 (the
stub of the delivery tests, with no failures). With no worker running it holds and resumes the
orders ``--cycles`` times (default 5: 2,000 events waiting in the Redis queue), then starts a
Celery worker (``--concurrency``, default 2) and times until every event is delivered: relay,
delivery row, chain-head selection, HTTP POST, outcome. Reports deliveries per second and the
time to ERP (event occurred -> ERP acknowledged) of the last event. JSON in
``bench/results/erp-delivery-latest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    RESULTS,
    Processes,
    bench_database_url,
    fresh_database,
    seed,
    wait_until,
)
from tests.processes import worker_argv  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work-orders", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)

    server_url = os.environ.get("DATABASE_URL", "")
    queue = f"andon-erpout-{secrets.token_hex(4)}"
    os.environ.update(
        {
            "DATABASE_URL": bench_database_url(server_url),
            "REDIS_URL": args.redis_url,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "BENCH_QUEUE": queue,
            "CELERY_QUEUE": queue,
            "CHANNEL_PREFIX": f"erpout{secrets.token_hex(3)}",
            "LOG_LEVEL": "WARNING",
            "ERP_ALLOWED_HOSTS": "127.0.0.1",  # the stand-in ERP listens on this machine
            "PYTHONPATH": str(ROOT),
        }
    )
    env = dict(os.environ)
    fresh_database(server_url, env)
    from integrations.erp.models import ErpDelivery, ErpEndpoint
    from mes import services
    from mes.models import Site, WorkOrder
    from tests.integrations.flaky_erp import FlakyErp

    seeded = seed(work_orders=args.work_orders)
    orders = list(WorkOrder.objects.filter(erp_number__in=seeded["work_orders"]))
    secret = secrets.token_hex(16)
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_dir = RESULTS / "logs-erp-delivery"
    log_dir.mkdir(exist_ok=True)
    deadline = time.monotonic() + 1800
    with FlakyErp(secret, weights={"ok": 1}) as erp:
        types = ["work_order.held", "work_order.resumed"]
        endpoint = ErpEndpoint.objects.create(
            name="bench ERP",
            base_url=erp.url,
            hmac_secret=secret,
            event_types=types,
            mapping={
                t: {"event": "{{ event.id }}", "work_order": "{{ payload.erp_number }}"}
                for t in types
            },
        )
        endpoint.sites.set(Site.objects.all())  # an endpoint serves the sites it names
        for cycle in range(args.cycles):
            for wo in orders:
                wo = services.hold_work_order(wo, actor=None, reason=f"bench {cycle}")
                services.resume_work_order(wo, actor=None, reason=f"bench {cycle}")
        events = len(orders) * args.cycles * 2
        with Processes(log_dir) as procs:
            started = time.monotonic()
            procs.start("worker", worker_argv(queue, args.concurrency), env)

            def done() -> bool:
                return (
                    ErpDelivery.objects.filter(status=ErpDelivery.Status.DELIVERED).count()
                    == events
                )

            wait_until(done, deadline, "every delivery", procs)
            seconds = time.monotonic() - started
        last = ErpDelivery.objects.select_related("event").order_by("-acknowledged_at").first()
        result = {
            "events": events,
            "concurrency": args.concurrency,
            "seconds_from_worker_start": round(seconds, 2),
            "deliveries_per_s": round(events / seconds, 1),
            "applied_once": len(erp.applied) == events and set(erp.applied.values()) == {1},
            "last_time_to_erp_s": round(last.time_to_erp.total_seconds(), 1),
            "load": os.getloadavg(),
            "cpus": os.cpu_count(),
        }
    (RESULTS / "erp-delivery-latest.json").write_text(json.dumps(result, indent=2))
    print(
        f"ERP delivery: {events} events relayed and delivered in "
        f"{result['seconds_from_worker_start']} s from worker start "
        f"({args.concurrency} processes): {result['deliveries_per_s']}/s; "
        f"each applied once: {result['applied_once']}"
    )
    return 0 if result["applied_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
