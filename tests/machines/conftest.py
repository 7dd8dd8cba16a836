"""A P1 press that ran, stopped on a fault for 20 minutes and ran again two hours ago,
with its counts and a small reason tree: the downtime of the machines' page and API tests."""

import datetime

import pytest
from django.utils import timezone

from mes import services
from mes.models import Downtime, DowntimeReason
from tests.factories import MachineFactory


@pytest.fixture
def downtime(p1):
    press = MachineFactory(work_center__site=p1, code="P1-PRA-02", ideal_cycle_seconds=6)
    start = timezone.now() - datetime.timedelta(hours=2)
    services.report_state(press, "running", start)
    services.report_state(press, "fault", start + datetime.timedelta(minutes=30))
    services.report_state(press, "running", start + datetime.timedelta(minutes=50))
    services.record_counts([services.Counted(press.pk, start, good=100, scrap=4)])
    mechanical = DowntimeReason.objects.create(
        code="MECH", name="Mechanical", category="mechanical"
    )
    DowntimeReason.objects.create(
        code="MECH-HYD", name="Hydraulics", category="mechanical", parent=mechanical
    )
    DowntimeReason.objects.create(code="BREAK", name="Break", category="planned", planned=True)
    return Downtime.objects.get()
