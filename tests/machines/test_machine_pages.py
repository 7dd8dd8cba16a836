"""The machines' pages: the floor shows a downtime waiting for its reason with big buttons
from the reason tree, and the operator's tap records it (history, event); another site's
downtime is a 404 and a branch is not a reason; the OEE page draws a chart per work center
and a Pareto, refuses impossible dates and another site, in a constant number of queries."""

import pytest
from django.urls import reverse
from django.utils import timezone

from mes import services
from mes.models import OutboxEvent
from tests.factories import MachineFactory

pytestmark = pytest.mark.django_db


def test_the_floor_asks_why_and_the_operator_taps_the_reason(client, downtime, user_in):
    operator = user_in("operator", downtime.site)
    client.force_login(operator)
    floor = client.get(reverse("floor", args=["P1"])).content.decode()
    assert "Why was the machine down?" in floor and downtime.number in floor
    assert 'value="MECH-HYD"' in floor and 'value="BREAK"' in floor
    assert 'value="MECH"' not in floor  # a branch is no button
    url = reverse("downtime-reason", args=[downtime.pk])
    response = client.post(url, {"reason": "MECH-HYD", "next": "floor"})
    assert response.status_code == 302 and response["Location"] == reverse("floor", args=["P1"])
    downtime.refresh_from_db()
    assert downtime.reason.code == "MECH-HYD" and downtime.reason_by == operator
    assert downtime.history.first().history_user == operator
    assert OutboxEvent.objects.filter(type="machine.downtime_reason_set").count() == 1
    floor = client.get(reverse("floor", args=["P1"])).content.decode()
    assert "Why was the machine down?" not in floor
    listing = client.get(reverse("downtimes", args=["P1"])).content.decode()
    assert "Hydraulics" in listing


def test_a_branch_or_another_sites_downtime_is_refused(client, downtime, p2, user_in):
    client.force_login(user_in("operator", downtime.site))
    url = reverse("downtime-reason", args=[downtime.pk])
    page = client.post(url, {"reason": "MECH"}, follow=True).content.decode()
    assert "Pick a reason at the end of a branch." in page
    assert client.post(url, {"reason": "NOPE"}).status_code == 302
    downtime.refresh_from_db()
    assert downtime.reason is None and downtime.history.count() == 2  # opened, ended
    client.force_login(user_in("operator", p2))
    assert client.post(url, {"reason": "MECH-HYD"}).status_code == 404
    assert client.get(reverse("downtimes", args=["P1"])).status_code == 404
    assert client.get(reverse("oee", args=["P1"])).status_code == 404
    downtime.refresh_from_db()
    assert downtime.reason is None


def test_the_oee_page_draws_the_work_centers_and_the_pareto(
    client, downtime, user_in, django_assert_max_num_queries
):
    client.force_login(user_in("supervisor", downtime.site))
    MachineFactory.create_batch(3, work_center=downtime.machine.work_center)
    with django_assert_max_num_queries(40):
        page = client.get(reverse("oee", args=["P1"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert downtime.machine.work_center.code in html and "<svg" in html
    assert "No reason given" in html and "20 min" in html  # the 20-minute fault
    assert 'class="bar' in html and "P1-PRA-02" in html
    bad = client.get(reverse("oee", args=["P1"]), {"from": "2026-13-01"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()
    wide = client.get(reverse("oee", args=["P1"]), {"from": "2026-01-01", "to": "2026-06-01"})
    assert wide.status_code == 400 and "At most 31 days" in wide.content.decode()
    backwards = client.get(reverse("oee", args=["P1"]), {"from": "2026-09-08", "to": "2026-09-07"})
    assert backwards.status_code == 400


def test_the_floor_and_the_board_show_each_machines_state(client, downtime, user_in):
    press = downtime.machine
    services.report_state(press, "fault", timezone.now())
    client.force_login(user_in("supervisor", downtime.site))
    floor = client.get(reverse("floor", args=["P1"])).content.decode()
    assert "machine-fault" in floor and "P1-PRA-02" in floor
    board = client.get(reverse("exceptions:board-fragment", args=["P1"])).content.decode()
    assert "P1-PRA-02" in board and "machine-fault" in board
    services.report_state(press, "running", timezone.now())
    board = client.get(reverse("exceptions:board-fragment", args=["P1"])).content.decode()
    assert "machine-running" in board
