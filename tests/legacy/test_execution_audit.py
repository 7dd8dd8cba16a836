"""The execution audit of a site and a period, against values worked out by hand: Andon's
exceptions (how raised, first decision, first ERP acknowledgement) next to the imported
tracker's rows ("outside the system")."""

import csv
import datetime as dt
import io

import pytest

from exceptions.models import Decision, ExceptionTicket, ExceptionType
from integrations.erp.models import ErpDelivery
from integrations.legacy.models import ImportJob, LegacyException
from mes.models import OutboxEvent
from tests.exceptions.api_common import raise_ticket
from tests.factories import make_endpoint

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def at(day, hour, minute=0):
    return dt.datetime(2026, 7, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def period(p1, p2, user_in):
    supervisor = user_in("supervisor", p1)
    buyer = user_in("procurement", p1)
    shortage = ExceptionType.objects.get(code="material_shortage")
    endpoint = make_endpoint(p1, name="SAP")

    def ticket(site, raised, via, **times):
        t = raise_ticket(supervisor if site == p1 else user_in("supervisor", p2), site, shortage)
        ExceptionTicket.objects.filter(pk=t.pk).update(raised_at=raised, raised_via=via, **times)
        return t

    a = ticket(p1, at(1, 8), "floor", acknowledged_at=at(1, 8, 10), resolved_at=at(1, 9))
    Decision.objects.create(
        exception=a, decision="expedite", decided_by=buyer, decided_at=at(1, 8, 30)
    )
    Decision.objects.create(
        exception=a, decision="later one", decided_by=buyer, decided_at=at(1, 9)
    )
    event = OutboxEvent.objects.filter(
        aggregate_type="exceptionticket", aggregate_id=str(a.pk)
    ).first()
    ErpDelivery.objects.create(
        endpoint=endpoint, event=event, status="delivered", acknowledged_at=at(1, 8, 45)
    )
    ticket(p1, at(2, 10), "api")
    ticket(p1, dt.datetime(2026, 6, 15, 9, tzinfo=UTC), "floor")  # before the period
    ticket(p2, at(1, 9), "floor")  # another site
    job = ImportJob.objects.create(
        site=p1, kind="exception_log", filename="tracker.xlsx", sha256="x"
    )
    LegacyException.objects.create(
        site=p1,
        raised_at=at(1, 12),
        reported_via="phone",
        decision="overtime",
        decided_by="A. Wójcik",
        erp_updated="yes",
        erp_updated_at=at(2, 12),
        job=job,
        row=2,
    )
    LegacyException.objects.create(site=p1, raised_at=at(3, 7), reported_via="chat", job=job, row=3)
    return a


def test_the_report_against_the_hand_computed_values(period, user_in, client_for, p1):
    auditor = client_for(user_in("auditor"))
    answer = auditor.get(
        "/api/v1/execution-audit/", {"site": "P1", "from": "2026-07-01", "to": "2026-07-31"}
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["summary"] == {
        "andon": {
            "exceptions": 2,
            "decision_recorded": 0.5,
            "reached_erp": 0.5,
            "to_erp_minutes_p50": 45.0,
            "communicated": {"api": 1, "floor": 1},
        },
        "outside": {
            "exceptions": 2,
            "decision_recorded": 0.5,
            "reached_erp": 0.5,
            "to_erp_minutes_p50": 1440.0,
            "communicated": {"chat": 1, "phone": 1},
        },
    }
    first = body["lines"][0]
    assert (first["source"], first["decision"], first["acknowledge_minutes"]) == (
        "andon",
        "expedite",
        10.0,
    )
    assert (first["resolve_minutes"], first["to_erp_minutes"]) == (60.0, 45.0)
    assert first["decided_by"].startswith("procurement_")
    outside = [line for line in body["lines"] if line["source"] == "outside"]
    assert [line["reference"] for line in outside] == ["tracker.xlsx:2", "tracker.xlsx:3"]

    export = auditor.get(
        "/api/v1/execution-audit/",
        {"site": "P1", "from": "2026-07-01", "to": "2026-07-31", "file": "csv"},
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [r["source"] for r in rows] == ["andon", "andon", "outside", "outside"]


def test_who_may_read_it_and_bad_input(period, user_in, client_for, p1, p2, client):
    assert (
        client_for(user_in("operator", p1)).get("/api/v1/execution-audit/?site=P1").status_code
        == 403
    )
    other = client_for(user_in("manager", p2))
    assert other.get("/api/v1/execution-audit/?site=P1").status_code == 404
    own = client_for(user_in("manager", p1))
    assert own.get("/api/v1/execution-audit/").json()["code"] == "site_required"
    bad = own.get(
        "/api/v1/execution-audit/", {"site": "P1", "from": "2026-07-31", "to": "2026-07-01"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_window"
    assert (
        own.get("/api/v1/execution-audit/", {"site": "P1", "from": "gestern"}).json()["code"]
        == "invalid_date"
    )
    client.force_login(user_in("manager", p1))
    page = client.get("/execution-audit/P1/", {"from": "2026-07-01", "to": "2026-07-31"})
    assert (
        page.status_code == 200
        and b"expedite" in page.content
        and b"tracker.xlsx:2" in page.content
    )
    assert (
        client.get("/execution-audit/P1/", {"from": "2026-07-01", "file": "xlsx"}).status_code
        == 200
    )
