"""``GET /api/v1/opcua/health/``: the collector's last word per server and tag, for the
user's sites only, never the server's password; roles without OPC UA access are refused."""

import datetime

import pytest
from django.utils import timezone

from integrations.opcua import services
from integrations.opcua.collector import Reading, TagSpec
from integrations.opcua.models import MachineLink, MachineTag, OpcServer, StateValue
from tests.factories import MachineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(p1):
    server = OpcServer.objects.create(
        site=p1, name="Hall", endpoint_url="opc.tcp://127.0.0.1:4840/", password="s3cret-value"
    )
    press = MachineFactory(work_center__site=p1, code="P1-PRA-01")
    link = MachineLink.objects.create(machine=press, server=server)
    StateValue.objects.create(link=link, value=1, state="running")
    tag = MachineTag.objects.create(link=link, role="state", node_id="ns=2;s=P1-PRA-01.State")
    now = timezone.now()
    spec = TagSpec(tag_id=tag.pk, machine_id=press.pk, role="state", node_id=tag.node_id)
    services.apply_readings([Reading(spec, 1, now - datetime.timedelta(seconds=2), now)])
    services.record_server_health(server.pk, True, "")
    return server


def test_health_of_servers_and_tags(server, user_in, client_for, p2, django_assert_max_num_queries):
    api = client_for(user_in("maintenance", server.site))
    with django_assert_max_num_queries(12):
        answer = api.get("/api/v1/opcua/health/")
    assert answer.status_code == 200
    (row,) = answer.json()
    assert row["connected"] is True and row["site"] == "P1" and row["reconnects"] == 0
    (tag,) = row["tags"]
    assert tag["machine"] == "P1-PRA-01" and tag["value"] == "1" and 1900 <= tag["lag_ms"] < 5000
    assert "s3cret" not in answer.content.decode()
    assert client_for(user_in("maintenance", p2)).get("/api/v1/opcua/health/").json() == []
    refused = client_for(user_in("operator", server.site)).get("/api/v1/opcua/health/")
    assert refused.status_code == 403
