"""Escalation sweep time with 100,000 open exceptions of which 100 are due.

``make bench`` runs it after ``bench/run.py``. It recreates the database ``andon_bench_sweep`` on
the server of ``DATABASE_URL``, migrates it (seeded workflow, types, SLA and escalation
defaults), bulk-inserts ``--open`` open tickets at site P1 whose next escalation lies in the
future, and ``--due`` whose first level is due now, then times ``services.sweep_escalations()``:
the sweep that fires the due ones, and an idle sweep with nothing due. It also records the
query plan of the due-ticket selection, to show it reads the ``next_escalation_at`` index and
not the open tickets. Results go to stdout and ``bench/results/sweep-latest.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "andon_bench_sweep"
ROUNDS = 3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100)
    args = parser.parse_args(argv)

    from bench.common import in_process_database

    if not in_process_database(DB, "sweep"):
        return 2
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from andon.celery import app
    from exceptions import services
    from exceptions.models import EscalationFiring, EscalationPolicy, ExceptionTicket, ExceptionType
    from mes.models import Site

    app.conf.task_always_eager = False  # only the sweep is timed: enqueue relays nowhere
    from unittest import mock

    site = Site.objects.create(code="P1", name="Plant 1", timezone="Europe/Warsaw")
    exception_type = ExceptionType.objects.get(code="machine_breakdown")
    policy = EscalationPolicy.objects.get()
    now = timezone.now()
    started = time.perf_counter()
    minute = datetime.timedelta(minutes=1)
    # Raised so that each group's first level (15 min) falls due between two sweeps: the
    # warm-up group at now, round k's at now + 5 + k minutes; the open ones at now + 14.
    groups = [("warm", 1, now - 20 * minute)] + [
        (f"round {k + 1}", args.due, now - (10 - k) * minute) for k in range(ROUNDS)
    ]
    groups.append(("open", args.open, now - minute))
    rows, n = [], 0
    for _name, count, raised in groups:
        for _ in range(count):
            n += 1
            rows.append(
                ExceptionTicket(
                    number=f"P1-{n:07d}",
                    site=site,
                    type=exception_type,
                    workflow=exception_type.workflow,
                    severity="medium",
                    status="open",
                    phase="open",
                    data={"symptom": "alarm"},
                    raised_at=raised,
                    escalation_policy=policy,
                    next_escalation_at=raised + 15 * minute,
                )
            )
    ExceptionTicket.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE exceptions_exceptionticket")
    seeded = time.perf_counter() - started

    plan = (
        ExceptionTicket.objects.filter(next_escalation_at__lte=now)
        .order_by("next_escalation_at")
        .explain()
    )
    rounds = []
    with mock.patch("mes.outbox._enqueue_relay"):
        # The beat runs the sweep every 30 s in a worker that has run it before: one warm-up
        # sweep (imports, the configuration read), then the timed rounds, then an idle one.
        warm = services.sweep_escalations(now=now)
        for k in range(ROUNDS):
            t = time.perf_counter()
            fired = services.sweep_escalations(now=now + (5.5 + k) * minute)
            rounds.append((fired, time.perf_counter() - t))
        t = time.perf_counter()
        idle_fired = services.sweep_escalations(now=now + (5.5 + ROUNDS) * minute)
        idle = time.perf_counter() - t
    busy = sorted(seconds for _fired, seconds in rounds)[len(rounds) // 2]
    result = {
        "open_tickets": len(rows),
        "due": args.due,
        "fired_per_round": [fired for fired, _s in rounds],
        "round_seconds": [round(s, 4) for _f, s in rounds],
        "sweep_seconds_median": round(busy, 4),
        "per_due_ticket_ms": round(busy / max(args.due, 1) * 1000, 2),
        "firings": EscalationFiring.objects.count(),
        "idle_sweep_seconds": round(idle, 4),
        "idle_fired": idle_fired,
        "seed_seconds": round(seeded, 1),
        "plan": plan,
        "measured_at": timezone.now().isoformat(),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep-latest.json").write_text(json.dumps(result, indent=2))
    print(
        f"escalation sweep: {result['open_tickets']:,} open tickets, {args.due} due per round "
        f"-> {result['fired_per_round']} levels fired in "
        f"{[round(s * 1000) for _f, s in rounds]} ms (median {busy * 1000:.0f} ms, "
        f"{result['per_due_ticket_ms']} ms per due ticket); idle sweep {idle * 1000:.1f} ms"
    )
    print("plan of the due selection:\n" + plan)
    ok = warm == 1 and all(f == args.due for f, _s in rounds) and idle_fired == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
