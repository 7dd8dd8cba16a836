"""The collector against a real OPC UA server on a loopback port: a stop over the debounce
raises one routed downtime ticket and running again closes it; a flap raises nothing; the
server restarts and the collector reconnects without counting or raising twice; a 16-bit
rollover counts on; a tag addressed by browse path and namespace URI (not index) is found."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from exceptions.models import ExceptionTicket
from integrations.opcua import services
from integrations.opcua.collector import Collector
from integrations.opcua.models import MachineLink, MachineTag, OpcServer, ServerHealth, StateValue
from mes.models import Downtime, MachineCount
from tests.factories import MachineFactory, SiteFactory

from .plant_server import URI, PlantServer, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("require_postgres")]


@pytest.fixture
def plant():
    site = SiteFactory(code="P1")
    press = MachineFactory(
        work_center__site=site, code="P1-PRA-02", downtime_after_seconds=2, short_stop_seconds=1
    )
    port = free_port()
    server = OpcServer.objects.create(
        site=site,
        name="Press hall",
        endpoint_url=f"opc.tcp://127.0.0.1:{port}/andon/",
        publishing_interval_ms=50,
    )
    link = MachineLink.objects.create(machine=press, server=server, counter_bits=16)
    for value, state in [(0, "stopped"), (1, "running"), (2, "fault"), (3, "setup")]:
        StateValue.objects.create(link=link, value=value, state=state)
    MachineTag.objects.create(
        link=link, role="state", browse_path="P1-PRA-02/State", namespace_uri=URI
    )
    return {"press": press, "server": server, "port": port, "link": link}


def add_good_tag(link, index):
    MachineTag.objects.create(link=link, role="good", node_id=f"ns={index};s=P1-PRA-02.Good")


async def wait_for(check, seconds=10.0):
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await sync_to_async(check)():
            return True
        await asyncio.sleep(0.1)
    return False


def test_the_collector_turns_a_live_server_into_downtimes_and_counts(plant):
    press = plant["press"]

    async def scenario():
        sim = PlantServer(plant["port"], ["P1-PRA-02"])
        await sim.start({("P1-PRA-02", "Good"): 65530})
        await sync_to_async(add_good_tag)(plant["link"], sim.index)
        specs = await sync_to_async(services.server_specs)()
        stop = asyncio.Event()
        collector = Collector(
            specs,
            apply=services.apply_readings,
            tick=services.tick,
            health=services.record_server_health,
            batch_seconds=0.05,
            tick_seconds=0.2,
        )
        run = asyncio.create_task(collector.run(stop))
        try:
            assert await wait_for(lambda: press.state_spans.filter(state="running").exists())
            # a flap: 1 -> 0 -> 1 within the debounce
            await sim.write("P1-PRA-02", "State", 0)
            await asyncio.sleep(0.3)
            await sim.write("P1-PRA-02", "State", 1)
            await sim.write("P1-PRA-02", "Good", 65535)
            await sim.write("P1-PRA-02", "Good", 3)  # 16-bit rollover: 4 more
            assert await wait_for(lambda: _good(press) == 9)
            await asyncio.sleep(1.0)
            assert not await sync_to_async(Downtime.objects.exists)()
            # a fault held past the debounce
            await sim.write("P1-PRA-02", "State", 2)
            assert await wait_for(lambda: Downtime.objects.filter(machine=press).exists(), 6)
            # the server goes away and comes back with the same values
            await sim.stop()
            assert await wait_for(
                lambda: not ServerHealth.objects.get(server=plant["server"]).connected, 10
            )
            sim = PlantServer(plant["port"], ["P1-PRA-02"])
            await sim.start({("P1-PRA-02", "Good"): 3, ("P1-PRA-02", "State"): 2})
            assert await wait_for(
                lambda: ServerHealth.objects.get(server=plant["server"]).connected, 40
            )
            await asyncio.sleep(0.5)
            await sim.write("P1-PRA-02", "State", 1)
            assert await wait_for(
                lambda: Downtime.objects.filter(machine=press, ended_at__isnull=False).exists()
            )
        finally:
            stop.set()
            await run
            await sim.stop()
            await sync_to_async(connections.close_all)()  # the ORM's thread

    asyncio.run(scenario())
    (downtime,) = Downtime.objects.filter(machine=press)
    assert downtime.state == "fault" and downtime.ended_at > downtime.started_at
    (ticket,) = ExceptionTicket.objects.filter(type__code="machine_downtime")
    assert ticket.machine == press and ticket.events.filter(kind="machine_running").exists()
    assert _good(press) == 9  # the reconnect counted nothing twice
    health = ServerHealth.objects.get(server=plant["server"])
    assert health.connected and health.reconnects == 1


def _good(machine) -> int:
    return sum(MachineCount.objects.filter(machine=machine).values_list("good", flat=True))


def test_a_batch_the_database_refuses_is_kept_and_applied_later():
    """The database busy (SQLite's lock, PostgreSQL restarting): the collector keeps the
    values and applies them, in order, with the next batch; it does not stop."""
    import asyncio
    from datetime import UTC, datetime

    from django.db import OperationalError

    from integrations.opcua.collector import Collector, Reading, TagSpec

    applied, calls = [], {"n": 0}

    def apply(batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("database is locked")
        applied.extend(r.value for r in batch)

    collector = Collector([], apply, lambda now: None, lambda *a: None)
    tag = TagSpec(1, 1, "state")
    now = datetime.now(UTC)

    async def run():
        collector.queue.put_nowait(Reading(tag, 1, now, now))
        await collector._drain()  # refused
        collector.queue.put_nowait(Reading(tag, 2, now, now))
        await collector._drain()

    asyncio.run(run())
    assert applied == [1, 2]
    assert collector.stats["values"] == 2 and collector.retry == []
