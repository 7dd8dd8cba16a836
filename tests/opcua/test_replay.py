"""plant-q3's ``machine_states.csv`` (a week of six P1 machines, one row per change) replayed
through a real OPC UA server at its own timestamps and read by the collector: the downtimes
are exactly the stops (stopped or fault) of two minutes or more, each with one routed ticket;
the flaps and micro-stops raise nothing; P1-PRA-01's 16-bit rollover and P1-TOK-02's reset
after its Wednesday fault give no negative production. The expectation is worked out from
the file here, independently of the code under test."""

import asyncio
import csv
from collections import defaultdict
from datetime import datetime

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.db.models import Sum

from exceptions.models import ExceptionTicket
from integrations.opcua import services
from integrations.opcua.collector import Collector
from integrations.opcua.models import MachineLink, MachineTag, OpcServer, StateValue
from mes.models import Downtime, MachineCount, WorkCenter
from tests.factories import MachineFactory, SiteFactory

from .plant_server import URI, PlantServer, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("require_postgres")]

DEBOUNCE, SHORT = 120, 30
COLUMNS = {"State": "state", "Good": "good_count", "Scrap": "scrap_count"}


def read_rows(plant_q3):
    with open(plant_q3 / "machine_states.csv", newline="") as f:
        return [
            {**row, "at": datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))}
            for row in csv.DictReader(f)
        ]


def expected_stops(rows):
    """(machine, from, to) of every run of stopped/fault states, and the short stops."""
    down, state, since, long_stops, short = {"0", "2"}, {}, {}, set(), 0
    for row in rows:
        m, s = row["machine"], row["state"]
        before = state.get(m)
        if s == before:
            continue
        if s in down and before not in down:
            since[m] = row["at"]
        elif s not in down and before in down:
            seconds = (row["at"] - since[m]).total_seconds()
            if seconds >= DEBOUNCE:
                long_stops.add((m, since[m], row["at"]))
            elif seconds < SHORT:
                short += 1
        state[m] = s
    return long_stops, short


def configure(machines):
    site = SiteFactory(code="P1")
    centers = {}
    port = free_port()
    server = OpcServer.objects.create(
        site=site,
        name="P1 hall",
        endpoint_url=f"opc.tcp://127.0.0.1:{port}/andon/",
        publishing_interval_ms=50,
    )
    for code in machines:
        center = code.rsplit("-", 1)[0]
        if center not in centers:
            centers[center] = WorkCenter.objects.create(site=site, code=center, name=center)
        machine = MachineFactory(
            site=site,
            work_center=centers[center],
            code=code,
            downtime_after_seconds=DEBOUNCE,
            short_stop_seconds=SHORT,
        )
        link = MachineLink.objects.create(machine=machine, server=server, counter_bits=16)
        StateValue.objects.bulk_create(
            StateValue(link=link, value=v, state=s)
            for v, s in [(0, "stopped"), (1, "running"), (2, "fault"), (3, "setup")]
        )
        for name in COLUMNS:
            MachineTag.objects.create(
                link=link,
                role={"State": "state", "Good": "good", "Scrap": "scrap"}[name],
                browse_path=f"{code}/{name}",
                namespace_uri=URI,
            )
    return port


def test_a_week_of_machine_states_replayed_through_opc_ua(plant_q3):
    rows = read_rows(plant_q3)
    machines = sorted({r["machine"] for r in rows})
    long_stops, short_stops = expected_stops(rows)
    port = configure(machines)

    async def replay():
        sim = PlantServer(port, machines)
        first = {}
        for row in rows:
            first.setdefault(row["machine"], row)
        await sim.start({(m, n): int(first[m][c]) for m in machines for n, c in COLUMNS.items()})
        current = {}
        for m, row in first.items():  # the values as of the file's first instant
            for name, column in COLUMNS.items():
                current[m, name] = int(row[column])
                await sim.write(m, name, current[m, name], row["at"])
        specs = await sync_to_async(services.server_specs)()
        stop = asyncio.Event()
        collector = Collector(
            specs,
            apply=services.apply_readings,
            tick=services.tick,
            health=services.record_server_health,
            batch_seconds=0.1,
            source_clock=True,
        )
        run = asyncio.create_task(collector.run(stop))
        try:  # subscribed: the values as of the first instant are in
            assert await _wait(lambda: collector.latest == rows[0]["at"], 30)
            for i, row in enumerate(rows):
                m = row["machine"]
                for name, column in COLUMNS.items():
                    value = int(row[column])
                    if current[m, name] != value:
                        current[m, name] = value
                        await sim.write(m, name, value, row["at"])
                if i % 100 == 99:  # well inside the monitored items' queues
                    await asyncio.sleep(0.06)
            last = max(r["at"] for r in rows)
            done = await _wait(lambda: collector.latest == last and collector.queue.empty())
            assert done, "the collector did not read the whole file"
            await asyncio.sleep(1.0)
        finally:
            stop.set()
            await run
            await sim.stop()
            await sync_to_async(connections.close_all)()

    asyncio.run(replay())

    downtimes = set(Downtime.objects.values_list("machine__code", "started_at", "ended_at"))
    assert downtimes == long_stops
    for code, hours, state in [
        ("P1-PRA-02", 3.59, "fault"),  # Tuesday
        ("P1-TOK-01", 8.61, "stopped"),  # Thursday, no material
        ("P1-FRE-01", 4.07, "stopped"),  # Friday maintenance
    ]:
        assert Downtime.objects.filter(
            machine__code=code, state=state, ended_at__isnull=False
        ).exists()
        assert any(
            m == code and abs((to - since).total_seconds() / 3600 - hours) < 0.01
            for m, since, to in downtimes
        )
    weekend = [d for d in downtimes if (d[2] - d[1]).total_seconds() > 40 * 3600]
    assert sorted(m for m, _since, _to in weekend) == machines  # every machine, once
    tickets = ExceptionTicket.objects.filter(type__code="machine_downtime")
    assert tickets.count() == len(long_stops)
    assert not tickets.filter(queue__isnull=True).exists()
    total_short = MachineCount.objects.aggregate(n=Sum("short_stops"))["n"]
    assert total_short == short_stops

    good = _totals("good")
    scrap = _totals("scrap")
    firsts, lasts = {}, {}
    for row in rows:
        firsts.setdefault(row["machine"], row)
        lasts[row["machine"]] = row
    for m in machines:
        g0, g1 = int(firsts[m]["good_count"]), int(lasts[m]["good_count"])
        s0, s1 = int(firsts[m]["scrap_count"]), int(lasts[m]["scrap_count"])
        if m == "P1-PRA-01":  # 65534 -> 1 on Monday evening: three more
            assert good[m] == g1 + 65536 - g0
        elif m == "P1-TOK-02":  # reset to 0 at 08:31:07Z on Wednesday
            before = _value_before(rows, m, "2026-09-09T08:31:07Z")
            assert good[m] == int(before["good_count"]) - g0 + g1
            assert scrap[m] == int(before["scrap_count"]) - s0 + s1
            continue
        else:
            assert good[m] == g1 - g0
        assert scrap[m] == s1 - s0
    assert not MachineCount.objects.filter(good__lt=0).exists()


def _totals(field):
    rows = MachineCount.objects.values("machine__code").annotate(n=Sum(field))
    return defaultdict(int, {r["machine__code"]: r["n"] for r in rows})


def _value_before(rows, machine, timestamp):
    return [r for r in rows if r["machine"] == machine and r["timestamp"] < timestamp][-1]


async def _wait(check, seconds=300.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.2)
    return False
