"""The machines' API: downtimes scoped to the user's sites, the floor's reason through
``POST /api/v1/downtimes/<id>/reason/`` (a leaf, If-Match, history and event), and the OEE
report of a site; wrong role, wrong site and bad input answered with stable codes."""

import datetime

import pytest
from django.utils import timezone

from mes import services
from mes.models import OutboxEvent
from tests.factories import MachineFactory

pytestmark = pytest.mark.django_db


def test_the_operator_gives_the_reason_through_the_api(downtime, user_in, client_for, p2):
    operator = client_for(user_in("operator", downtime.site))
    url = f"/api/v1/downtimes/{downtime.pk}/reason/"
    listing = operator.get("/api/v1/downtimes/", {"site": "P1", "unexplained": "true"})
    assert [d["number"] for d in listing.json()["results"]] == [downtime.number]
    branch = operator.post(url, {"reason": "MECH"}, format="json")
    assert branch.status_code == 400 and branch.json()["code"] == "invalid_reason"
    unknown = operator.post(url, {"reason": "NOPE"}, format="json")
    assert unknown.status_code == 400
    stale = operator.post(url, {"reason": "MECH-HYD"}, format="json", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412
    done = operator.post(url, {"reason": "MECH-HYD", "note": "leak"}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["reason"] == "MECH-HYD" and done["ETag"] == '"2"'
    assert downtime.history.count() == 3
    assert OutboxEvent.objects.filter(type="machine.downtime_reason_set").count() == 1

    stranger = client_for(user_in("operator", p2))
    assert stranger.get(f"/api/v1/downtimes/{downtime.pk}/").status_code == 404
    assert stranger.post(url, {"reason": "MECH-HYD"}, format="json").status_code == 404
    assert stranger.get("/api/v1/downtimes/").json()["results"] == []
    auditor = client_for(user_in("auditor", downtime.site))
    assert auditor.post(url, {"reason": "MECH-HYD"}, format="json").status_code == 403


def test_the_oee_report(downtime, user_in, client_for, p2):
    api = client_for(user_in("supervisor", downtime.site))
    report = api.get("/api/v1/oee/", {"site": "P1"})
    assert report.status_code == 200, report.content
    body = report.json()
    (center,) = body["work_centers"]
    (machine,) = center["machines"]
    assert machine["label"] == "P1-PRA-02" and machine["good"] == 100 and machine["scrap"] == 4
    assert machine["quality"] == round(100 / 104, 4)
    assert body["pareto"][0]["minutes"] == 20.0 and body["pareto"][0]["code"] == ""
    assert api.get("/api/v1/oee/").json()["code"] == "site_required"
    bad = api.get("/api/v1/oee/", {"site": "P1", "from": "2026-02-30"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_window"
    other = client_for(user_in("supervisor", p2))
    assert other.get("/api/v1/oee/", {"site": "P1"}).status_code == 404


def test_machine_counts_are_offered_when_confirming(p1, user_in, client_for, p2):
    from tests.factories import make_work_order

    press = MachineFactory(work_center__site=p1, code="P1-PRA-01")
    wo = make_work_order(p1, status="released", operations=1, work_centers=[press.work_center])
    op = wo.operations.get()
    supervisor = user_in("supervisor", p1)
    services.start_operation(op, actor=supervisor, machine=press)
    type(op).objects.filter(pk=op.pk).update(  # started an hour ago
        actual_start=timezone.now() - datetime.timedelta(hours=1)
    )
    op.refresh_from_db()
    services.report_state(press, "running", op.actual_start)
    before = op.actual_start - datetime.timedelta(minutes=5)
    soon = op.actual_start + datetime.timedelta(minutes=2)
    services.record_counts(
        [
            services.Counted(press.pk, before, good=999),  # another order's pieces
            services.Counted(press.pk, soon, good=40, scrap=2),
        ]
    )
    api = client_for(user_in("operator", p1))
    url = f"/api/v1/operations/{op.pk}/machine-counts/"
    offer = api.get(url).json()
    assert (offer["machine"], offer["good"], offer["scrap"]) == ("P1-PRA-01", 40, 2)
    assert offer["running_minutes"] >= 0
    services.confirm_operation(op, actor=supervisor, good_qty=40, scrap_qty=2)
    later = timezone.now() + datetime.timedelta(minutes=3)
    services.record_counts([services.Counted(press.pk, later, good=7)])
    offer = services.machine_counts(op, now=later + datetime.timedelta(minutes=1))
    assert (offer["good"], offer["scrap"]) == (7, 0)  # only what came after the confirmation
    assert client_for(user_in("operator", p2)).get(url).status_code == 404
