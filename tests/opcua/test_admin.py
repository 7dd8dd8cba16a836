"""OPC UA configuration in the admin: a manager adds a server (its password write-only,
kept out of history, one event), another site's manager does not see it, a bad address is
said on the field; "test connection" browses a real server and lists its variables; a
machine's states and tags are saved with it."""

import asyncio
import threading

import pytest

from integrations.opcua.models import MachineLink, OpcServer
from mes.models import OutboxEvent
from tests.admin_helpers import admin_url, management_form, messages_of
from tests.factories import MachineFactory

from .plant_server import PlantServer, free_port

pytestmark = pytest.mark.django_db


def server_form(site, **changes) -> dict:
    data = {
        "site": str(site.pk),
        "name": "Press hall",
        "endpoint_url": "opc.tcp://127.0.0.1:4840/",
        "security_mode": "None",
        "security_policy": "None",
        "username": "reader",
        "password": "s3cret-value",
        "client_certificate": "",
        "client_private_key": "",
        "publishing_interval_ms": "500",
        "is_active": "on",
        "change_reason": "new hall",
    }
    data.update(changes)
    return data


def test_a_manager_adds_a_server_with_a_write_only_password(as_manager, p1, p2, user_in, client):
    bad = as_manager.post(admin_url(OpcServer, "add"), server_form(p1, endpoint_url="http://x"))
    assert bad.status_code == 200 and "opc.tcp://" in bad.content.decode()
    answer = as_manager.post(admin_url(OpcServer, "add"), server_form(p1))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    server = OpcServer.objects.get()
    assert server.password == "s3cret-value"
    assert not hasattr(server.history.first(), "password")
    event = OutboxEvent.objects.get(type="opcua.configuration_changed")
    assert "s3cret-value" not in str(event.payload)
    page = as_manager.get(admin_url(OpcServer, "change", server.pk)).content.decode()
    assert "s3cret-value" not in page
    client.force_login(user_in("manager", p2, is_staff=True))
    assert client.get(admin_url(OpcServer, "change", server.pk)).status_code in (302, 404)


def test_test_connection_lists_the_servers_variables(as_manager, p1):
    port = free_port()
    sim = PlantServer(port, ["P1-PRA-01"])
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(sim.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(20)
    try:
        server = OpcServer.objects.create(
            site=p1, name="Sim", endpoint_url=f"opc.tcp://127.0.0.1:{port}/andon/"
        )
        answer = as_manager.post(
            admin_url(OpcServer, "changelist"),
            {"action": "test_connection", "_selected_action": [server.pk]},
            follow=True,
        )
        (said,) = [m for m in messages_of(answer) if "Sim" in m]
        assert "3 variables found" in said and "P1-PRA-01/State" in said
    finally:
        asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_a_machine_is_saved_with_its_states_and_tags(as_manager, p1):
    server = OpcServer.objects.create(site=p1, name="Sim", endpoint_url="opc.tcp://h:4840/")
    machine = MachineFactory(work_center__site=p1)
    data = {
        "machine": str(machine.pk),
        "server": str(server.pk),
        "counter_bits": "16",
        "is_active": "on",
        "change_reason": "wired",
        **management_form("states", total=2),
        "states-0-value": "0",
        "states-0-state": "stopped",
        "states-1-value": "1",
        "states-1-state": "running",
        **management_form("tags", total=1),
        "tags-0-role": "state",
        "tags-0-browse_path": "Press/State",
        "tags-0-namespace_uri": "urn:plant",
        "tags-0-node_id": "",
    }
    answer = as_manager.post(admin_url(MachineLink, "add"), data)
    assert answer.status_code == 302, answer.content.decode()[:3000]
    link = MachineLink.objects.get()
    assert link.states.count() == 2 and link.tags.get().browse_path == "Press/State"
