"""Machine downtimes reach the ERP like any other event: started, reason set and ended, with
the endpoint's mapping, in order, only for the endpoint's sites."""

import datetime

import pytest

from mes import services
from mes.models import Downtime, DowntimeReason
from tests.factories import MachineFactory, make_endpoint, make_user, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

FEED = "/api/v1/erp/events/"
T0 = datetime.datetime(2026, 9, 8, 6, 0, tzinfo=datetime.UTC)


def at(minutes: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=minutes)


def test_downtimes_reach_the_erp(p1, p2, user_in, relay, client_for):
    reader = make_user("erp", "erp_integration", [p1])
    endpoint = make_endpoint(
        name="Maintenance feed",
        adapter="pull",
        event_types=[
            "machine.downtime_started",
            "machine.downtime_reason_set",
            "machine.downtime_ended",
        ],
        account=reader,
        mapping={
            "machine.downtime_started": {
                "equipment": "{{ payload.machine }}",
                "order": "{{ payload.work_order }}",
                "since": "{{ payload.started_at }}",
            }
        },
    )
    endpoint.sites.set([p1])
    press = MachineFactory(work_center__site=p1, code="P1-PRA-02")
    wo = make_work_order(p1, status="released", operations=1, work_centers=[press.work_center])
    services.start_operation(wo.operations.get(), actor=None, machine=press)
    elsewhere = MachineFactory(work_center__site=p2, code="P2-STB-01")
    for machine in (press, elsewhere):
        services.report_state(machine, "running", at(0))
        services.report_state(machine, "fault", at(10))
        services.report_state(machine, "running", at(40))
    hydraulics = DowntimeReason.objects.create(code="HYD", name="Hydraulics", category="mechanical")
    services.set_downtime_reason(
        Downtime.objects.get(machine=press),
        actor=user_in("operator", p1),
        reason_code=hydraulics,
    )
    relay()
    events = client_for(reader).get(FEED).json()["events"]
    assert [e["type"] for e in events] == [
        "machine.downtime_started",
        "machine.downtime_ended",
        "machine.downtime_reason_set",
    ]
    assert events[0]["body"] == {
        "equipment": "P1-PRA-02",
        "order": wo.erp_number,
        "since": at(10).isoformat(),
    }
    ended = events[1]["body"]["payload"]
    assert ended["ended_at"] == at(40).isoformat() and ended["machine"] == "P1-PRA-02"
    assert events[2]["body"]["payload"]["reason_code"] == "HYD"
