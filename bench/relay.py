"""Outbox relay throughput with every default subscriber: events relayed per second.

Recreates ``andon_bench``, seeds P1 with running work orders and a supervisor, raises
``--raises`` shortages through the service with no worker running (their events wait in the
outbox, as a backlog after a burst would), then relays in this process, as a worker's
``relay_outbox`` task does, until nothing is left: routing rules (queue, hold the work order),
notifications and their pushes (Redis channel layer), projections, ERP outbound (no endpoint),
and the events those emit in turn. Prints events/s and writes ``bench/results/relay-latest.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    BODY_DATA,
    RESULTS,
    SITE,
    bench_environment,
    fresh_database,
    seed,
)

BEFORE_EVENTS_PER_SECOND = 9.2  # one task per event, before batches (measured 2026-12-05)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--raises", type=int, default=int(os.environ.get("BENCH_RAISES", "1000")))
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = p.parse_args(argv)
    server_url = os.environ.get("DATABASE_URL", "")
    queue = f"andon-bench-relay-{secrets.token_hex(4)}"
    env = bench_environment(server_url, args.redis_url, queue)
    fresh_database(server_url, env)
    import redis
    from django.contrib.auth.models import User

    from exceptions import services
    from exceptions.models import ExceptionTicket, ExceptionType
    from mes.models import OutboxEvent, Site, WorkOrder
    from mes.outbox import relay_outbox

    seeded = seed(50)
    OutboxEvent.objects.update(delivered_at=datetime.datetime.now(datetime.UTC))  # the seed's
    site = Site.objects.get(code=SITE)
    shortage = ExceptionType.objects.get(code="material_shortage")
    actor = User.objects.get(username="bench_supervisor")
    orders = list(WorkOrder.objects.filter(erp_number__in=seeded["work_orders"]))
    print(f"raising {args.raises} shortages with no worker running", flush=True)
    for i in range(args.raises):
        services.raise_exception(
            actor=actor,
            exception_type=shortage,
            site=site,
            data=BODY_DATA,
            work_order=orders[i % len(orders)],
        )
    backlog = OutboxEvent.objects.filter(delivered_at__isnull=True).count()
    print(f"{backlog} events pending; relaying", flush=True)
    started = time.perf_counter()
    relayed = 0
    while OutboxEvent.objects.filter(delivered_at__isnull=True).exists():
        relayed += relay_outbox.run()
    seconds = time.perf_counter() - started
    failed = OutboxEvent.objects.exclude(last_error="").count()
    result = {
        "raises": args.raises,
        "backlog": backlog,
        "events_relayed": relayed,
        "seconds": round(seconds, 2),
        "events_per_second": round(relayed / seconds, 1),
        "before_events_per_second": BEFORE_EVENTS_PER_SECOND,
        "speedup": round(relayed / seconds / BEFORE_EVENTS_PER_SECOND, 1),
        "failed_events": failed,
        "queued_to_procurement": ExceptionTicket.objects.filter(queue__name="procurement").count(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "relay-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    redis.Redis.from_url(args.redis_url).delete(queue)
    print(
        f"relay: {relayed} events in {result['seconds']} s = {result['events_per_second']} "
        f"events/s ({result['speedup']}x the {BEFORE_EVENTS_PER_SECOND} before), "
        f"{failed} failed; {result['queued_to_procurement']}/{args.raises} queued to procurement"
    )
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
