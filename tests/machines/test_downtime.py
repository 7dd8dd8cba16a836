"""Machine states into downtimes: a stop as long as the debounce opens one downtime and raises
one routed ticket on the machine's order; running again closes it and the timeline says so; a
flap or a short stop raises nothing (a short stop is counted); resends change nothing; the
reason comes from the floor with history and an event; counters past resets and rollovers."""

import datetime

import pytest
from django.utils import timezone

from exceptions.models import ExceptionTicket
from mes import services
from mes.errors import InvalidInput, NotPermitted
from mes.models import Downtime, DowntimeReason, MachineCount, MachineStateSpan, OutboxEvent
from tests.factories import MachineFactory, make_work_order

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 9, 8, 6, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


@pytest.fixture
def press(p1):
    machine = MachineFactory(work_center__site=p1, code="P1-PRA-02", name="Prasa")
    wo = make_work_order(p1, status="released", operations=1, work_centers=[machine.work_center])
    services.start_operation(wo.operations.get(), actor=None, machine=machine)
    services.report_state(machine, "running", at(0))
    return machine


def tickets():
    return list(ExceptionTicket.objects.filter(type__code="machine_downtime"))


def test_a_long_stop_raises_one_routed_ticket_and_running_again_closes_it(press, relay):
    services.report_state(press, "fault", at(10))
    assert services.open_due_downtimes(now=at(10 + 119)) == 0  # inside the debounce
    assert not tickets()
    assert services.open_due_downtimes(now=at(10 + 120)) == 1
    assert services.open_due_downtimes(now=at(10 + 200)) == 0  # once
    services.report_state(press, "stopped", at(400))  # still the same stop
    (downtime,) = Downtime.objects.all()
    assert (downtime.started_at, downtime.state, downtime.ended_at) == (at(10), "fault", None)
    (ticket,) = tickets()
    assert ticket.machine == press and ticket.raised_via == "machine"
    assert ticket.work_order == downtime.work_order and ticket.operation == downtime.operation
    assert ticket.work_order is not None and ticket.data["downtime"] == downtime.number
    relay()
    ticket.refresh_from_db()
    assert ticket.queue.name == "maintenance"  # routed like any breakdown
    services.report_state(press, "running", at(3600))
    downtime.refresh_from_db()
    assert downtime.ended_at == at(3600) and downtime.history.count() == 2
    running = ticket.events.get(kind="machine_running")
    assert "running again after 60 min" in running.message
    types = list(OutboxEvent.objects.order_by("pk").values_list("type", flat=True))
    assert types.count("machine.downtime_started") == 1
    assert types.count("machine.downtime_ended") == 1
    ended = OutboxEvent.objects.get(type="machine.downtime_ended")
    assert ended.payload["started_at"] == at(10).isoformat()
    assert ended.payload["machine"] == "P1-PRA-02" and ended.payload["work_order"]


def test_a_report_after_the_debounce_opens_and_closes_at_the_sources_times(press):
    """A replay, or a collector catching up: no tick ran between the two reports."""
    services.report_state(press, "stopped", at(100))
    services.report_state(press, "running", at(100 + 600))
    (downtime,) = Downtime.objects.all()
    assert (downtime.started_at, downtime.ended_at) == (at(100), at(700))
    assert len(tickets()) == 1


def test_flaps_and_short_stops_raise_nothing_and_short_stops_are_counted(press):
    for n in range(3):  # 1 -> 0 -> 1 within 5 s, three times
        services.report_state(press, "stopped", at(60 + 5 * n))
        services.report_state(press, "running", at(62 + 5 * n))
    services.report_state(press, "stopped", at(200))
    services.report_state(press, "running", at(260))  # 60 s: a stop, not short, no ticket
    services.open_due_downtimes(now=at(1000))
    assert not Downtime.objects.exists() and not tickets()
    assert sum(MachineCount.objects.values_list("short_stops", flat=True)) == 3
    spans = MachineStateSpan.objects.filter(machine=press)
    assert spans.count() == 9 and spans.filter(ended_at__isnull=True).count() == 1


def test_resends_and_old_reports_change_nothing(press):
    services.report_state(press, "stopped", at(50))
    assert services.report_state(press, "stopped", at(50)) is False
    assert services.report_state(press, "running", at(40)) is False  # older than we know
    assert MachineStateSpan.objects.filter(machine=press).count() == 2
    with pytest.raises(InvalidInput):
        services.report_state(press, "exploded", at(60))


def test_the_floor_gives_the_reason_from_a_leaf(press, p2, user_in):
    services.report_state(press, "fault", at(0.5))
    services.report_state(press, "running", at(1000))
    downtime = Downtime.objects.get()
    electrical = DowntimeReason.objects.create(code="EL", name="Electrical", category="electrical")
    drive = DowntimeReason.objects.create(
        code="EL-DRIVE", name="Drive fault", category="electrical", parent=electrical
    )
    operator = user_in("operator", press.site)
    with pytest.raises(InvalidInput) as refused:
        services.set_downtime_reason(downtime, actor=operator, reason_code=electrical)
    assert refused.value.code == "invalid_reason"
    with pytest.raises(NotPermitted):
        services.set_downtime_reason(downtime, actor=user_in("operator", p2), reason_code=drive)
    services.set_downtime_reason(downtime, actor=operator, reason_code=drive, note="F07")
    downtime.refresh_from_db()
    assert (downtime.reason, downtime.reason_by, downtime.note) == (drive, operator, "F07")
    assert downtime.history.first().history_change_reason == "Drive fault"
    event = OutboxEvent.objects.get(type="machine.downtime_reason_set")
    assert event.payload["reason_code"] == "EL-DRIVE" and event.actor == operator


@pytest.mark.parametrize(
    ("previous", "value", "bits", "delta"),
    [
        (None, 500, 16, 0),
        (100, 130, 16, 30),
        (65530, 4, 16, 10),  # 16-bit rollover
        (4294967290, 5, 32, 11),  # 32-bit rollover
        (30000, 0, 16, 0),  # reset
        (30000, 12, 16, 12),  # reset, and counted since
        (70000, 5, 16, 5),  # not a 16-bit reading before: a reset
    ],
)
def test_counter_deltas_are_never_negative(previous, value, bits, delta):
    assert services.counter_delta(previous, value, bits) == delta


def test_counts_add_up_per_machine_and_minute(press):
    other = MachineFactory(work_center=press.work_center)
    now = timezone.now().replace(second=10)
    batch = [
        services.Counted(press.pk, now, good=3),
        services.Counted(press.pk, now + datetime.timedelta(seconds=5), good=2, scrap=1),
        services.Counted(other.pk, now, good=7),
    ]
    assert services.record_counts(batch) == 2
    services.record_counts(batch[:1])
    rows = {
        (r.machine_id, r.good, r.scrap)
        for r in MachineCount.objects.filter(minute=now.replace(second=0, microsecond=0))
    }
    assert rows == {(press.pk, 8, 1), (other.pk, 7, 0)}


def test_managers_keep_the_reason_tree_with_history_and_event(user_in, p1, manager):
    planned = services.save_master_record(
        DowntimeReason(code="PL", name="Planned", category="planned", planned=True),
        actor=manager,
        reason="tree",
    )
    assert planned.history.count() == 1
    assert OutboxEvent.objects.filter(type="downtimereason.created").count() == 1
    with pytest.raises(NotPermitted):
        services.save_master_record(
            DowntimeReason(code="X", name="X", category="other"), actor=user_in("operator", p1)
        )
