"""The OPC UA collector under a plant's load: 200 machines x 3 tags (state, good, scrap)
written at 1 Hz on asyncua servers, read by the real ``manage.py opcua_collect``.

``DATABASE_URL=postgres://... python bench/opcua.py`` recreates ``andon_bench_opcua``, migrates
it, starts the simulator (this script with ``--serve``, a process of its own), seeds the plant
by plain ORM and starts the collector (production settings; relays queued to Redis for no
worker, or in process without Redis). Once every tag's first value is in, each second every
machine's counters rise and its state is written (short stops, setups now and then; every
second with ``--churn``), and ``--stops`` machines of ``--debounce`` s go to fault. Over
``--window`` s after ``--skip`` s: the collector's CPU from ``/proc`` (its PostgreSQL backend
apart), values applied per second and their lag (``TagHealth`` polled every 0.2 s); then the
fault-to-ticket latency after the debounce, and that no value, piece or state was lost.
Prints a table and one JSON line; JSON also in ``bench/results/opcua-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "andon_bench_opcua"
URI = "urn:andon:bench-plant"
RESULTS = ROOT / "bench" / "results"
TICK = os.sysconf("SC_CLK_TCK")
STATES = {0: "stopped", 1: "running", 2: "fault", 3: "setup"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--machines", type=int, default=200)
    p.add_argument("--servers", type=int, default=1, help="machines split over this many")
    p.add_argument("--skip", type=float, default=5, help="seconds of warm-up not measured")
    p.add_argument("--window", type=float, default=30, help="seconds measured")
    p.add_argument("--stops", type=int, default=20, help="faults held past the debounce")
    p.add_argument("--debounce", type=int, default=3, help="their downtime_after_seconds")
    p.add_argument("--publish-ms", type=int, default=500, help="publishing_interval_ms")
    p.add_argument("--browse-paths", action="store_true", help="tags by path + URI, not id")
    p.add_argument("--churn", action="store_true", help="states change every second")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--serve", help=argparse.SUPPRESS)  # the simulator: its config file
    return p.parse_args(argv)


def make_plan(args) -> dict:
    """Each machine's state each second: faults on distinct machines at random moments spread
    over the window, held debounce + 3 s; elsewhere short stops (1-2 s) and setups (5 s)."""
    rng = random.Random(args.seed)
    machines = [f"M{i:03d}" for i in range(1, args.machines + 1)]
    ticks = int(args.skip + args.window) + 2
    span = args.window - args.debounce - 4  # the last fault's ticket within the window
    faulted = rng.sample(machines, args.stops)
    faults = [[c, args.skip + span * i / args.stops + rng.random()] for i, c in enumerate(faulted)]
    states = {code: [1] * ticks for code in machines}
    for code, at in faults:
        for k in range(int(at) + 1, min(ticks, int(at) + args.debounce + 4)):
            states[code][k] = 2
    short = 0
    for code in [c for c in machines if c not in faulted]:
        if args.churn:  # every state changes every second too: 600 values/s notified
            states[code] = [1 + 2 * (k % 2) for k in range(ticks)]  # running, setup, ...
            continue
        k = 1
        while k < ticks - 4:
            r, length = rng.random(), rng.choice((1, 2))
            if r < 0.005:  # ~1 short stop a second over 200 machines
                states[code][k : k + length] = [0] * length
                short, k = short + 1, k + length
            elif r < 0.006:
                states[code][k : k + 5] = [3] * 5
                k += 5
            k += 1
    groups = [machines[s :: args.servers] for s in range(args.servers)]
    plan = {"machines": machines, "groups": groups, "ticks": ticks, "faults": faults}
    return plan | {"states": states, "short_stops": short}


# --- the simulator (its own process) -------------------------------------------------------


async def simulate(cfg: dict) -> None:
    """Serve the machines, say ready (the namespace index), wait for "go", run the plan at
    1 Hz (a fault at its own moment, after that second's writes), write what it did."""
    from asyncua import Server, ua

    kinds = (ua.VariantType.Int32, ua.VariantType.UInt16, ua.VariantType.UInt16)
    machines = cfg["machines"]  # a quarter of the good counters roll over during the run
    value = {c: [1, 65400 + i % 100 if i % 4 == 0 else i * 97, 0] for i, c in enumerate(machines)}
    start = {c: list(v) for c, v in value.items()}
    where, servers = {}, []
    for port, group in zip(cfg["ports"], cfg["groups"], strict=True):
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/andon/")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        index = await server.register_namespace(URI)
        for code in group:
            obj = await server.nodes.objects.add_object(index, code)
            for n, name in enumerate(("State", "Good", "Scrap")):
                node_id, initial = ua.NodeId(f"{code}.{name}", index), value[code][n]
                name = ua.QualifiedName(name, index)
                await obj.add_variable(node_id, name, ua.Variant(initial, kinds[n]))
                where[code, n] = (server, node_id)
        await server.start()
        servers.append(server)
    print(json.dumps({"ready": index}), flush=True)
    loop = asyncio.get_running_loop()
    if (await loop.run_in_executor(None, sys.stdin.readline)).strip() != "go":
        cfg["ticks"], cfg["faults"] = 0, []  # the bench gave up: stop at once

    async def write(code: str, n: int, v: int) -> None:
        server, node_id = where[code, n]
        now = datetime.now(UTC)
        dv = ua.DataValue(ua.Variant(v, kinds[n]), SourceTimestamp=now, ServerTimestamp=now)
        await server.write_attribute_value(node_id, dv)

    rng = random.Random(cfg["seed"])
    events = [(k, "") for k in range(cfg["ticks"])] + [(at, c) for c, at in cfg["faults"]]
    ticks, faults, changes = [], [], 0
    wall0, mono0 = time.time(), time.monotonic()
    for at, faulted in sorted(events):
        await asyncio.sleep(max(0.0, mono0 + at - time.monotonic()))
        began, before = time.monotonic(), changes
        if faulted:
            value[faulted][0] = 2
            faults.append([faulted, datetime.now(UTC).isoformat()])
            await write(faulted, 0, 2)
            changes += 1
            continue
        for code in machines:
            state = cfg["states"][code][at]
            changes += (state != value[code][0]) + 2
            value[code][0] = state
            value[code][1] = (value[code][1] + rng.randint(1, 3)) % 65536
            value[code][2] = (value[code][2] + 1) % 65536
            for n in range(3):
                await write(code, n, value[code][n])
        ticks.append([wall0 + at, began - mono0 - at, time.monotonic() - began, changes - before])
    pieces = {c: [(v[n] - start[c][n]) % 65536 for n in (1, 2)] for c, v in value.items()}
    final = {c: v[0] for c, v in value.items()}
    done = {"ticks": ticks, "faults": faults, "changes": changes, "pieces": pieces}
    Path(cfg["out"]).write_text(json.dumps(done | {"final_state": final}))
    print("done", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # serve on until told (or EOF)
    await asyncio.gather(*(server.stop() for server in servers))


# --- the bench -----------------------------------------------------------------------------


def seed(args, plan: dict, ports: list[int], index: int) -> None:
    from integrations.opcua.models import MachineLink, MachineTag, OpcServer, StateValue
    from mes.models import Machine, Site, WorkCenter

    site = Site.objects.create(code="P1", name="OPC UA bench plant", timezone="Europe/Warsaw")
    centers = [
        WorkCenter.objects.create(site=site, code=f"WC{i}", name=f"Cell {i}", kind="machining")
        for i in range(1, 5)
    ]
    faulted = {code for code, _at in plan["faults"]}
    machines = Machine.objects.bulk_create(
        Machine(site=site, work_center=centers[i % 4], code=code, name=f"Press {code}")
        for i, code in enumerate(plan["machines"])
    )
    Machine.objects.filter(code__in=faulted).update(downtime_after_seconds=args.debounce)
    server_of = {}
    for s, (port, group) in enumerate(zip(ports, plan["groups"], strict=True)):
        url, name = f"opc.tcp://127.0.0.1:{port}/andon/", f"Hall {s + 1}"
        server = OpcServer.objects.create(site=site, name=name, endpoint_url=url)
        server_of.update(dict.fromkeys(group, server))
    OpcServer.objects.update(publishing_interval_ms=args.publish_ms)
    links = MachineLink.objects.bulk_create(
        MachineLink(machine=m, server=server_of[m.code], counter_bits=16) for m in machines
    )
    StateValue.objects.bulk_create(
        StateValue(link=link, value=v, state=s) for link in links for v, s in STATES.items()
    )

    def where(code: str, name: str) -> dict:
        if args.browse_paths:
            return {"browse_path": f"{code}/{name}", "namespace_uri": URI}
        return {"node_id": f"ns={index};s={code}.{name}"}

    roles = {"state": "State", "good": "Good", "scrap": "Scrap"}
    MachineTag.objects.bulk_create(
        MachineTag(link=link, role=role, **where(link.machine.code, name))
        for link in links
        for role, name in roles.items()
    )


def cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid``, its waited-for children and its live ones (by ppid)."""

    def fields(p) -> list[str]:
        try:
            text = Path(f"/proc/{p}/stat").read_text()
        except OSError:  # gone
            return []
        return text[text.rfind(")") + 2 :].split()

    kids = [f for p in os.listdir("/proc") if p.isdigit() and (f := fields(p))[1:2] == [str(pid)]]
    return (sum(map(int, fields(pid)[11:15])) + sum(int(x) for f in kids for x in f[11:13])) / TICK


def pct(values: list[float], *qs: float) -> list[float]:
    from bench.common import percentile

    ordered = sorted(values)
    return [round(percentile(ordered, q), 3) for q in qs] + [round(ordered[-1], 3)]


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.serve:
        asyncio.run(simulate(json.loads(Path(args.serve).read_text())))
        return 0
    from bench.common import in_process_database
    from tests.processes import free_port

    if not in_process_database(DB, "OPC UA"):
        return 2
    t_start = time.monotonic()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from exceptions.models import ExceptionTicket, ExceptionType
    from integrations.opcua.models import ServerHealth, TagHealth
    from mes.models import Downtime, MachineCount, MachineStateSpan

    assert ExceptionType.objects.filter(code="machine_downtime", is_active=True).exists()
    plan = make_plan(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in range(args.servers)]
    cfg = {**plan, "ports": ports, "seed": args.seed, "out": str(RESULTS / "opcua-sim.json")}
    (RESULTS / "opcua-sim-config.json").write_text(json.dumps(cfg))
    env = dict(os.environ)
    queue, relay = f"andon-bench-opcua-{secrets.token_hex(4)}", "in the collector (no Redis)"
    try:
        import redis

        redis.Redis.from_url(args.redis_url).ping()
        env |= {"REDIS_URL": args.redis_url, "CELERY_TASK_ALWAYS_EAGER": "0"}
        env |= {"BENCH_QUEUE": queue, "CHANNEL_PREFIX": queue}  # its own queue, no worker
        relay = f"queued to Redis ({queue}, no worker)"
    except Exception as exc:  # noqa: BLE001 - without Redis the relay runs in the collector
        print(f"Redis unavailable ({exc}): relays run in the collector", flush=True)
    logs = {n: open(RESULTS / f"opcua-{n}.log", "w") for n in ("sim", "collector")}
    argv = [sys.executable, __file__, "--serve", str(RESULTS / "opcua-sim-config.json")]
    pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "text": True}
    sim = subprocess.Popen(argv, stderr=logs["sim"], **pipes)
    collector = None
    try:
        index = json.loads(sim.stdout.readline())["ready"]
        seed(args, plan, ports, index)
        began = time.monotonic()
        argv = [sys.executable, "manage.py", "opcua_collect", "--seconds", "600"]  # a cap
        out = {"stdout": logs["collector"], "stderr": subprocess.STDOUT}
        collector = subprocess.Popen(argv, cwd=ROOT, env=env, **out)
        while not (
            ServerHealth.objects.filter(connected=True).count() == args.servers
            and TagHealth.objects.count() == 3 * args.machines
        ):
            assert collector.poll() is None, "the collector exited"
            assert time.monotonic() < began + 120, "the collector is not up in 120 s"
            time.sleep(0.2)
        connected = time.monotonic() - began
        print("go", file=sim.stdin, flush=True)
        go = time.monotonic()
        bounds = (go + args.skip, go + args.skip + args.window)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            backends = [row[0] for row in cursor.fetchall()]
        table, last, snaps, lags, visible = TagHealth._meta.db_table, {}, [], [], []
        while time.monotonic() < go + plan["ticks"] + 1:
            mono = time.monotonic()
            if len(snaps) < 2 and mono >= bounds[len(snaps)]:
                pg, cpu = sum(cpu_seconds(b) for b in backends), cpu_seconds(collector.pid)
                snaps.append((mono, time.time(), cpu, pg, cpu_seconds(sim.pid)))
            now = datetime.now(UTC)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT tag_id, source_time, lag_ms FROM {table}")  # noqa: S608
                for tag, source_time, lag in cursor.fetchall():
                    if last.get(tag) != source_time and len(snaps) == 1:  # in the window
                        lags.append(lag / 1000)
                        visible.append((now - source_time).total_seconds())
                    last[tag] = source_time
            time.sleep(0.2)
        assert sim.stdout.readline().strip() == "done", "the simulator did not finish"
        tickets = ExceptionTicket.objects.filter(type__code="machine_downtime")
        while tickets.count() < args.stops and time.monotonic() < go + plan["ticks"] + 15:
            time.sleep(0.2)
        time.sleep(1.0)  # the last values' batch
        collector.send_signal(signal.SIGTERM)
        collector.wait(30)
    finally:
        if collector is not None and collector.poll() is None:
            collector.kill()
        sim.stdin.close()  # the simulator stops its servers and exits, or is killed
        with contextlib.suppress(subprocess.TimeoutExpired):
            sim.wait(10)
        sim.kill()
        for f in logs.values():
            f.close()
        if "REDIS_URL" in env:
            redis.Redis.from_url(args.redis_url).delete(queue)
    done = json.loads(Path(cfg["out"]).read_text())
    log = (RESULTS / "opcua-collector.log").read_text().splitlines()
    stopped = [int(line.split()[2]) for line in log if line.startswith("Stopped after")]

    (m0, w0, c0, p0, s0), (m1, w1, c1, p1, s1) = snaps
    wall, ticks = m1 - m0, done["ticks"]
    in_window = [t for t in ticks if w0 <= t[0] < w1]
    counted = {code: [0, 0, 0] for code in plan["machines"]}
    fields = ("machine__code", "good", "scrap", "short_stops")
    for code, *counts in MachineCount.objects.values_list(*fields):
        counted[code] = [a + b for a, b in zip(counted[code], counts, strict=True)]
    lost = sum(abs(done["pieces"][c][n] - row[n]) for c, row in counted.items() for n in (0, 1))
    spans = MachineStateSpan.objects.filter(ended_at=None)
    now_in = dict(spans.values_list("machine__code", "state"))
    wrong = sum(now_in.get(c) != STATES[s] for c, s in done["final_state"].items())
    raised = dict(tickets.values_list("machine__code", "raised_at"))
    latency = [
        (raised[c] - datetime.fromisoformat(at)).total_seconds() - args.debounce
        for c, at in done["faults"]
        if c in raised
    ]
    expected = 3 * args.machines + done["changes"]  # every first value, then every change
    changes = round(sum(t[3] for t in in_window) / wall, 1)
    writes = round(len(in_window) * 3 * args.machines / wall, 1)
    hz = round((len(ticks) - 1) / (ticks[-1][0] - ticks[0][0]), 3)
    shorts = sum(r[2] for r in counted.values())

    def share(a: float, b: float) -> float:
        return round(100 * (b - a) / wall, 1)

    rows = [  # key, label, value (a list: seconds p50/p99/max, shown in ms), target
        ("cpu_pct", "collector CPU, % of one core", share(c0, c1), "<= 25"),
        ("pg_backend_cpu_pct", "  its PostgreSQL backend, %", share(p0, p1), ""),
        ("sim_cpu_pct", "  simulator (not counted), %", share(s0, s1), ""),
        ("writes_per_s", "writes offered /s", writes, str(3 * args.machines)),
        ("changes_per_s", "  changes, notified /s", changes, ""),
        ("applied_per_s", "values applied /s", round(len(lags) / wall, 1), "= changes"),
        ("lag_collector", "lag source->collector", pct(lags, 50, 99), ""),
        ("lag_db", "lag source->database (0.2 s polls)", pct(visible, 50, 99), ""),
        ("ticket_latency", "fault->ticket after debounce", pct(latency or [-1], 50, 99), "< 1 s"),
        ("sim_hz", "simulator ticks, Hz", hz, "1"),
        ("sim_late", "  tick late p99/max", pct([t[1] for t in ticks], 99), ""),
        ("values_applied", "values applied in the run", stopped[0] if stopped else -1, expected),
        ("pieces_lost", "pieces lost", lost, 0),
        ("states_wrong", "final states wrong", wrong, 0),
        ("downtimes", "downtimes", Downtime.objects.count(), args.stops),
        ("tickets", "machine_downtime tickets", len(raised), args.stops),
        ("short_stops", "short stops counted", shorts, plan["short_stops"]),
        ("connect_s", "collector start to all tags in, s", round(connected, 1), ""),
    ]
    result = {key: value for key, _label, value, _target in rows} | {
        "machines": args.machines,
        "servers": args.servers,
        "tags_by": "browse path" if args.browse_paths else "node id",
        "states_change": "every second" if args.churn else "now and then",
        "publishing_interval_ms": args.publish_ms,
        "relay": relay,
        "bench_wall_s": round(time.monotonic() - t_start, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (RESULTS / "opcua-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"OPC UA collector: {args.machines} machines x 3 tags (by {result['tags_by']}) on"
        f" {args.servers} server(s), {wall:.1f} s measured, publishing {args.publish_ms} ms,"
        f" relays {relay}, states change {result['states_change']}, {args.stops} faults"
    )
    for _key, label, value, target in rows:
        if isinstance(value, list):
            value = " / ".join(f"{x * 1000:,.0f}" for x in value) + " ms"
        print(f"  {label:<36} {value!s:>24}  {target}")
    print(json.dumps(result))
    exact = [(value, target) for _k, _l, value, target in rows if isinstance(target, int)]
    return 0 if all(value == target for value, target in exact) else 1


if __name__ == "__main__":
    sys.exit(main())
