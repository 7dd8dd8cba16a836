"""Issue 13, 4 and 5: master data from the ERP. Names are stored as the ERP sent them (the
code is the key; a name is display text, trailing spaces and all); a lot of an item that
requires a certificate and came without one is accepted and flagged, on the lot and in the
batch's answer."""

import uuid

import pytest

from mes.models import Item, Lot, WorkCenter
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def erp(p1, client_for):
    return client_for(make_user("erp", "erp_integration", [p1]))


def post(erp, kind, url, records):
    answer = erp.post(
        f"/api/v1/erp/{url}/batch/",
        {kind: records},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["results"]


def test_names_are_stored_as_sent(erp):
    name = "Wspornik  ocynkowany "
    (item,) = post(erp, "items", "items", [{"code": "FG-1", "name": name, "kind": "finished"}])
    assert item["status"] == "created" and Item.objects.get(code="FG-1").name == name
    wc = {"code": "P1-FRE", "site": "P1", "name": " Frezarka 5-osiowa ", "kind": "machining"}
    post(erp, "work_centers", "work-centers", [wc])
    assert WorkCenter.objects.get(code="P1-FRE").name == " Frezarka 5-osiowa "
    (blank,) = post(erp, "items", "items", [{"code": "FG-2", "name": "   ", "kind": "finished"}])
    assert blank["status"] == "rejected" and "name" in blank["fields"]


def test_a_lot_without_its_required_certificate_is_flagged(erp, client_for, p1):
    items = [
        {"code": "RM-CERT", "name": "Blacha DC01", "kind": "raw", "requires_certificate": True},
        {"code": "RM-FREE", "name": "Śruby", "kind": "raw"},
    ]
    post(erp, "items", "items", items)
    lots = [
        {"number": "L-1", "site": "P1", "item": "RM-CERT", "quantity": 10},
        {"number": "L-2", "site": "P1", "item": "RM-CERT", "quantity": 10, "certificate": "3.1"},
        {"number": "L-3", "site": "P1", "item": "RM-FREE", "quantity": 10},
    ]
    answers = post(erp, "lots", "lots", lots)
    assert [a.get("flags", []) for a in answers] == [["certificate_missing"], [], []]
    assert [a["status"] for a in answers] == ["created"] * 3
    assert Lot.objects.get(number="L-1").certificate_missing
    planner = client_for(make_user("planner_p1", "planner", [p1]))
    shown = planner.get("/api/v1/lots/L-1/").json()
    assert shown["certificate_missing"] is True
    completed = post(erp, "lots", "lots", [{**lots[0], "certificate": "3.1 EN 10204"}])
    assert completed[0]["status"] == "updated" and "flags" not in completed[0]
    assert not Lot.objects.get(number="L-1").certificate_missing
