"""OEE of a scripted shift equals the value worked out by hand: availability from the
calendar's planned time less a planned break, performance from the ideal cycle, quality from
the counts; a work center adds its machines' times before dividing; pieces after the shift
and a stop running past its end count only inside it."""

import datetime
import zoneinfo
from fractions import Fraction

import pytest

from mes import oee, services
from mes.models import Downtime, DowntimeReason, WorkingCalendar
from tests.factories import MachineFactory, WorkCenterFactory

pytestmark = pytest.mark.django_db

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


def local(hh, mm=0, day=7):  # Monday 7 September 2026, CEST (UTC+2)
    return datetime.datetime(2026, 9, day, hh, mm, tzinfo=WARSAW).astimezone(datetime.UTC)


@pytest.fixture
def shift(p1):
    WorkingCalendar.objects.create(
        site=p1, shifts={"0": [["06:00", "14:00"]]}, shift_changes="06:00 14:00 22:00"
    )
    center = WorkCenterFactory(site=p1, code="P1-PRA")
    press = MachineFactory(site=p1, work_center=center, code="P1-PRA-01", ideal_cycle_seconds=30)
    brake = MachineFactory(site=p1, work_center=center, code="P1-PRA-02", ideal_cycle_seconds=60)
    brk = DowntimeReason.objects.create(
        code="BREAK", name="Break", category="planned", planned=True
    )
    fault = DowntimeReason.objects.create(code="HYD", name="Hydraulics", category="mechanical")
    operator = None
    script = [
        (press, "running", local(6)),
        (press, "stopped", local(7)),  # the break: 30 min, planned
        (press, "running", local(7, 30)),
        (press, "fault", local(9)),  # 45 min, unplanned
        (press, "running", local(9, 45)),
        (press, "stopped", local(13, 50)),  # into the next shift: 10 min of this one
        (press, "running", local(14, 30)),
        (brake, "running", local(6)),
    ]
    for machine, state, at in script:
        services.report_state(machine, state, at)
    reasons = {local(7): brk, local(9): fault}
    for downtime in Downtime.objects.all():
        if downtime.started_at in reasons:
            services.set_downtime_reason(
                downtime, actor=operator, reason_code=reasons[downtime.started_at]
            )
    services.record_counts(
        [
            services.Counted(press.pk, local(8), good=400, scrap=15),
            services.Counted(press.pk, local(12), good=300, scrap=5),
            services.Counted(press.pk, local(14, 40), good=50),  # next shift
            services.Counted(brake.pk, local(10), good=400),
        ]
    )
    return {"site": p1, "press": press, "brake": brake}


def test_the_oee_of_a_scripted_shift_is_the_hand_computed_value(shift):
    site = shift["site"]
    result = oee.report(site, local(6), local(14), now=local(23))
    (row,) = [m for c in result["work_centers"] for m in c.machines if m.label == "P1-PRA-01"]
    # planned 480 - 30 (break) = 450 min; run 480 - 30 - 45 - 10 = 395 min
    assert row.planned_s == 450 * 60 and row.run_s == 395 * 60
    assert row.good == 700 and row.scrap == 20  # not the 50 made after 14:00
    assert row.availability == pytest.approx(395 / 450)
    assert row.performance == pytest.approx(30 * 720 / (395 * 60))
    assert row.quality == pytest.approx(700 / 720)
    assert row.oee == pytest.approx(float(Fraction(30 * 700, 450 * 60)))  # 0.7778

    (center,) = result["work_centers"]
    # with P1-PRA-02 running the whole shift: 400 pieces at 60 s
    a = Fraction(395 + 480, 450 + 480)
    p = Fraction(30 * 720 + 60 * 400, (395 + 480) * 60)
    q = Fraction(1100, 1120)
    assert center.oee == pytest.approx(float(a * p * q))
    assert center.as_dict()["oee"] == round(float(a * p * q), 4)
    (only,) = result["shifts"]
    assert only.label == "Mon 07.09 06:00" and only.oee == pytest.approx(center.oee)


def test_shifts_follow_the_shift_changes_and_the_pareto_ranks_the_reasons(shift):
    site = shift["site"]
    result = oee.report(site, local(6), local(22), now=local(23))
    labels = [s.label for s in result["shifts"]]
    assert labels == ["Mon 07.09 06:00", "Mon 07.09 14:00"]
    late = result["shifts"][1]
    assert late.planned_s == 0 and late.availability is None and late.oee is None
    bars = oee.downtime_pareto(site, local(6), local(22), now=local(23))
    # the fault, the stop at 13:50 nobody gave a reason (40 min), the break
    assert [(b["code"], b["minutes"]) for b in bars] == [("HYD", 45), ("", 40), ("BREAK", 30)]
    assert bars[-1]["cumulative"] == 1.0


def test_no_ideal_cycle_no_performance(p1):
    machine = MachineFactory(work_center__site=p1, ideal_cycle_seconds=None)
    services.report_state(machine, "running", local(6))
    row = oee.machine_oee([machine], local(6), local(7), now=local(8))[machine.pk]
    assert row.availability == 1.0 and row.performance is None and row.oee is None
