"""The OPC UA collector under a plant's load: 200 machines x 3 tags (state, good, scrap)
written at 1 Hz on asyncua servers, read by the real ``manage.py opcua_collect``.

``DATABASE_URL=postgres://... python bench/opcua.py`` recreates ``andon_bench_opcua``, migrates
it, starts the simulator (this script with ``--serve``, a process of its own), seeds the plant
by plain ORM and starts the collector (production settings; relays queued to Redis for no
worker, or in process without Redis). Once every tag's first value is in, each second every
machine's counters rise and its state is written (short stops and setups now and then), and
``--stops`` machines with a ``--debounce`` s debounce go to fault at random moments. Over
``--window`` s after ``--skip`` s: the collector's CPU from ``/proc`` (its PostgreSQL backend
apart), values applied per second and their lag (``TagHealth`` polled every 0.2 s); then the
fault-to-ticket latency after the debounce, and that no value, piece or state was lost.
Prints a table and one JSON line; JSON also in ``bench/results/opcua-latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = "andon_bench_opcua"
URI = "urn:andon:bench-plant"
RESULTS = ROOT / "bench" / "results"
TICK = os.sysconf("SC_CLK_TCK")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--machines", type=int, default=200)
    p.add_argument("--servers", type=int, default=1, help="machines split over this many")
    p.add_argument("--skip", type=float, default=5, help="seconds of warm-up not measured")
    p.add_argument("--window", type=float, default=30, help="seconds measured")
    p.add_argument("--stops", type=int, default=20, help="faults held past the debounce")
    p.add_argument("--debounce", type=int, default=3, help="their downtime_after_seconds")
    p.add_argument("--publish-ms", type=int, default=500, help="publishing_interval_ms")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--serve", help=argparse.SUPPRESS)  # the simulator: its config file
    return p.parse_args(argv)


def make_plan(args) -> dict:
    """Who does what each second: faults on distinct machines at random moments spread over
    the window, held debounce + 3 s; elsewhere short stops (1-2 s) and setups (5 s)."""
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
    for code in set(machines) - set(faulted):
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
    return {
        "machines": machines,
        "groups": groups,
        "ticks": ticks,
        "faults": faults,
        "states": states,
        "short_stops": short,
    }


# --- the simulator (its own process) -------------------------------------------------------


async def simulate(cfg: dict) -> None:
    from asyncua import Server, ua

    kinds = (ua.VariantType.Int32, ua.VariantType.UInt16, ua.VariantType.UInt16)
    machines = cfg["machines"]
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
            for n, (name, kind) in enumerate(zip(("State", "Good", "Scrap"), kinds, strict=True)):
                node_id = ua.NodeId(f"{code}.{name}", index)
                await obj.add_variable(
                    node_id, ua.QualifiedName(name, index), ua.Variant(value[code][n], kind)
                )
                where[code, n] = (server, node_id)
        await server.start()
        servers.append(server)
    print(json.dumps({"ready": index}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"

    async def write(code: str, n: int, v: int) -> None:
        server, node_id = where[code, n]
        now = datetime.now(UTC)
        dv = ua.DataValue(ua.Variant(v, kinds[n]), SourceTimestamp=now, ServerTimestamp=now)
        await server.write_attribute_value(node_id, dv)

    rng = random.Random(cfg["seed"])
    events = sorted(
        [(k, "tick", "") for k in range(cfg["ticks"])]
        + [(at, "fault", code) for code, at in cfg["faults"]]
    )
    ticks, faults, changes = [], [], 0
    wall0, mono0 = time.time(), time.monotonic()
    for at, kind, code in events:
        delay = mono0 + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        began = time.monotonic()
        if kind == "fault":
            value[code][0] = 2
            faults.append([code, datetime.now(UTC).isoformat()])
            await write(code, 0, 2)
            changes += 1
            continue
        changed = changes
        for code in machines:
            state = cfg["states"][code][at]
            changes += (state != value[code][0]) + 2
            value[code][0] = state
            value[code][1] = (value[code][1] + rng.randint(1, 3)) % 65536
            value[code][2] = (value[code][2] + 1) % 65536
            for n in range(3):
                await write(code, n, value[code][n])
        ticks.append([wall0 + at, began - mono0 - at, time.monotonic() - began, changes - changed])
    cpu = os.times()
    done = {
        "ticks": ticks,
        "writes_per_tick": 3 * len(machines),
        "faults": faults,
        "changes": changes,
        "pieces": {c: [(v[n] - start[c][n]) % 65536 for n in (1, 2)] for c, v in value.items()},
        "final_state": {c: v[0] for c, v in value.items()},
        "cpu_seconds": cpu.user + cpu.system,
    }
    Path(cfg["out"]).write_text(json.dumps(done))
    print("done", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # serve on until told (or EOF)
    for server in servers:
        await server.stop()


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
        Machine(
            site=site,
            work_center=centers[i % 4],
            code=code,
            name=f"Press {code}",
            downtime_after_seconds=args.debounce if code in faulted else 120,
        )
        for i, code in enumerate(plan["machines"])
    )
    server_of = {}
    for s, (port, group) in enumerate(zip(ports, plan["groups"], strict=True)):
        server = OpcServer.objects.create(
            site=site,
            name=f"Hall {s + 1}",
            endpoint_url=f"opc.tcp://127.0.0.1:{port}/andon/",
            publishing_interval_ms=args.publish_ms,
        )
        server_of.update(dict.fromkeys(group, server))
    links = MachineLink.objects.bulk_create(
        MachineLink(machine=m, server=server_of[m.code], counter_bits=16) for m in machines
    )
    meanings = [(0, "stopped"), (1, "running"), (2, "fault"), (3, "setup")]
    StateValue.objects.bulk_create(
        StateValue(link=link, value=v, state=s) for link in links for v, s in meanings
    )
    roles = (("state", "State"), ("good", "Good"), ("scrap", "Scrap"))
    MachineTag.objects.bulk_create(
        MachineTag(link=link, role=role, node_id=f"ns={index};s={link.machine.code}.{name}")
        for link in links
        for role, name in roles
    )


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid``, its waited-for children and its live descendants."""

    def stat(p: int) -> list[str]:
        text = Path(f"/proc/{p}/stat").read_text()
        return text[text.rfind(")") + 2 :].split()

    total, pids = 0.0, {pid}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(stat(int(entry.name))[1]) in pids:
                pids.add(int(entry.name))  # children (one level, enough here)
        except (OSError, IndexError):
            continue
    for p in pids:
        try:
            fields = stat(p)
        except OSError:
            continue
        total += sum(int(x) for x in fields[11 : 15 if p == pid else 13]) / TICK
    return total


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
        env.update(
            REDIS_URL=args.redis_url,
            CELERY_TASK_ALWAYS_EAGER="0",
            BENCH_QUEUE=queue,
            CHANNEL_PREFIX=queue,
        )
        relay = f"queued to Redis ({queue}, no worker)"
    except Exception as exc:  # noqa: BLE001 - without Redis the relay runs in the collector
        print(f"Redis unavailable ({exc}): relays run in the collector", flush=True)
    logs = {n: open(RESULTS / f"opcua-{n}.log", "w") for n in ("sim", "collector")}
    sim = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(RESULTS / "opcua-sim-config.json")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=logs["sim"],
        text=True,
    )
    collector = None
    try:
        index = json.loads(sim.stdout.readline())["ready"]
        seed(args, plan, ports, index)
        tags, collector_started = 3 * args.machines, time.monotonic()
        collector = subprocess.Popen(
            [sys.executable, "manage.py", "opcua_collect", "--seconds", "600"],
            cwd=ROOT,
            env=env,
            stdout=logs["collector"],
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not (
            ServerHealth.objects.filter(connected=True).count() == args.servers
            and TagHealth.objects.count() == tags
        ):
            assert collector.poll() is None and time.monotonic() < deadline, "collector not up"
            time.sleep(0.2)
        connected_after = time.monotonic() - collector_started
        sim.stdin.write("go\n")
        sim.stdin.flush()
        go = time.monotonic()
        w_start, w_end = go + args.skip, go + args.skip + args.window
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            )
            backends = [row[0] for row in cursor.fetchall()]
        table, last, snaps = TagHealth._meta.db_table, {}, []
        updates, lags, visible = 0, [], []
        while time.monotonic() < go + plan["ticks"] + 1:
            mono = time.monotonic()
            if len(snaps) < 2 and mono >= (w_start, w_end)[len(snaps)]:
                pg, cpu = sum(cpu_seconds(b) for b in backends), cpu_seconds(collector.pid)
                snaps.append((mono, time.time(), cpu, pg, cpu_seconds(sim.pid)))
            now = datetime.now(UTC)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT tag_id, source_time, lag_ms FROM {table}")  # noqa: S608
                rows = cursor.fetchall()
            for tag, source_time, lag in rows:
                if last.get(tag) != source_time:
                    if len(snaps) == 1:
                        updates += 1
                        lags.append(lag / 1000)
                        visible.append((now - source_time).total_seconds())
                    last[tag] = source_time
            time.sleep(0.2)
        assert sim.stdout.readline().strip() == "done", "the simulator did not finish"
        deadline = time.monotonic() + 15
        while ExceptionTicket.objects.filter(type__code="machine_downtime").count() < args.stops:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(1.5)  # the last values' batch
        collector.send_signal(signal.SIGTERM)
        collector.wait(30)
    finally:
        if collector is not None and collector.poll() is None:
            collector.kill()
        if sim.poll() is None:
            sim.stdin.close()
            try:
                sim.wait(15)
            except subprocess.TimeoutExpired:
                sim.kill()
        for f in logs.values():
            f.close()
        if "REDIS_URL" in env:
            redis.Redis.from_url(args.redis_url).delete(queue)
    done = json.loads(Path(cfg["out"]).read_text())
    output = (RESULTS / "opcua-collector.log").read_text()
    stopped = [line for line in output.splitlines() if line.startswith("Stopped after")]
    applied_total = int(stopped[0].split()[2]) if stopped else -1

    (m0, w0, c0, p0, s0), (m1, w1, c1, p1, s1) = snaps
    wall = m1 - m0
    in_window = [t for t in done["ticks"] if w0 <= t[0] < w1]
    by_machine = {code: [0, 0, 0] for code in plan["machines"]}
    for code, good, scrap, short in MachineCount.objects.values_list(
        "machine__code", "good", "scrap", "short_stops"
    ):
        row = by_machine[code]
        row[0], row[1], row[2] = row[0] + good, row[1] + scrap, row[2] + short
    lost = sum(
        abs(done["pieces"][c][0] - r[0]) + abs(done["pieces"][c][1] - r[1])
        for c, r in by_machine.items()
    )
    open_states = dict(
        MachineStateSpan.objects.filter(ended_at=None).values_list("machine__code", "state")
    )
    names = {0: "stopped", 1: "running", 2: "fault", 3: "setup"}
    wrong_states = sum(open_states.get(c) != names[s] for c, s in done["final_state"].items())
    raised = dict(
        ExceptionTicket.objects.filter(type__code="machine_downtime").values_list(
            "machine__code", "raised_at"
        )
    )
    debounce = timedelta(seconds=args.debounce)
    latency = [
        (raised[c] - datetime.fromisoformat(at) - debounce).total_seconds()
        for c, at in done["faults"]
        if c in raised
    ]
    ticks = done["ticks"]
    result = {
        "machines": args.machines,
        "servers": args.servers,
        "tags": 3 * args.machines,
        "publishing_interval_ms": args.publish_ms,
        "relay": relay,
        "window_s": round(wall, 2),
        "collector_cpu_pct": round(100 * (c1 - c0) / wall, 1),
        "collector_pg_backend_cpu_pct": round(100 * (p1 - p0) / wall, 1),
        "simulator_cpu_pct": round(100 * (s1 - s0) / wall, 1),
        "offered_writes_per_s": round(len(in_window) * done["writes_per_tick"] / (w1 - w0), 1),
        "offered_changes_per_s": round(sum(t[3] for t in in_window) / (w1 - w0), 1),
        "applied_values_per_s": round(updates / wall, 1),
        "lag_source_to_collector_s_p50_p99_max": pct(lags, 50, 99),
        "lag_source_to_db_s_p50_p99_max": pct(visible, 50, 99),
        "ticket_latency_after_debounce_s_p50_p99_max": pct(latency, 50, 99) if latency else None,
        "sim_ticks": len(ticks),
        "sim_tick_rate_hz": round((len(ticks) - 1) / (ticks[-1][0] - ticks[0][0]), 3),
        "sim_tick_late_s_p99_max": pct([t[1] for t in ticks], 99),
        "sim_tick_write_s_p50_max": pct([t[2] for t in ticks], 50),
        "values_applied_total": applied_total,
        "values_expected_total": 3 * args.machines + done["changes"],
        "pieces_lost": lost,
        "final_states_wrong": wrong_states,
        "downtimes": Downtime.objects.count(),
        "tickets": len(raised),
        "faults": args.stops,
        "short_stops": [sum(r[2] for r in by_machine.values()), plan["short_stops"]],
        "collector_start_to_all_tags_s": round(connected_after, 1),
        "bench_wall_s": round(time.monotonic() - t_start, 1),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (RESULTS / "opcua-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    report(result)
    ok = (
        lost == 0
        and wrong_states == 0
        and len(latency) == args.stops
        and result["downtimes"] == args.stops
        and applied_total == result["values_expected_total"]
    )
    return 0 if ok else 1


def report(r: dict) -> None:
    def ms(xs) -> str:
        return " / ".join(f"{x * 1000:,.0f}" for x in xs) + " ms" if xs else "-"

    rows = [
        ("collector CPU, one core", f"{r['collector_cpu_pct']} %", "<= 25 %"),
        ("  its PostgreSQL backend", f"{r['collector_pg_backend_cpu_pct']} %", ""),
        ("  simulator (not counted)", f"{r['simulator_cpu_pct']} %", ""),
        ("writes offered", f"{r['offered_writes_per_s']}/s", "600/s"),
        ("  of them changes (notified)", f"{r['offered_changes_per_s']}/s", ""),
        ("values applied", f"{r['applied_values_per_s']}/s", "every change"),
        ("lag source->collector p50/p99/max", ms(r["lag_source_to_collector_s_p50_p99_max"]), ""),
        ("lag source->database p50/p99/max", ms(r["lag_source_to_db_s_p50_p99_max"]), ""),
        (
            "fault->ticket after debounce",
            ms(r["ticket_latency_after_debounce_s_p50_p99_max"]),
            "< 1 s",
        ),
        ("simulator ticks", f"{r['sim_ticks']} at {r['sim_tick_rate_hz']} Hz", "1 Hz"),
        ("  tick late p99/max", ms(r["sim_tick_late_s_p99_max"]), ""),
        ("  tick's writes p50/max", ms(r["sim_tick_write_s_p50_max"]), ""),
        (
            "values applied / changed (run)",
            f"{r['values_applied_total']:,} / {r['values_expected_total']:,}",
            "equal",
        ),
        ("pieces lost, states wrong", f"{r['pieces_lost']}, {r['final_states_wrong']}", "0, 0"),
        ("downtimes, tickets / faults", f"{r['downtimes']}, {r['tickets']} / {r['faults']}", ""),
        ("short stops counted / made", "{} / {}".format(*r["short_stops"]), ""),
    ]
    print(
        f"OPC UA collector: {r['machines']} machines x 3 tags on {r['servers']} server(s), "
        f"{r['window_s']} s measured, publishing {r['publishing_interval_ms']} ms, "
        f"relays {r['relay']}"
    )
    for name, got, target in rows:
        print(f"  {name:<36} {got:>28}  {target}")
    print(json.dumps(r))


if __name__ == "__main__":
    sys.exit(main())
