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


def test_an_orders_erp_reference_is_carried_as_sent_and_kept_current(p1, client_for):
    """Issue 13, 11: the ERP's reference (Tryton's production reference) on the work order."""
    from mes import services
    from mes.models import WorkOrder
    from tests.factories import ItemFactory, MachineFactory, WorkCenterFactory

    wc = WorkCenterFactory(site=p1, code="P1-FRE")
    ItemFactory(code="FG-9")
    erp = client_for(make_user("erp", "erp_integration", [p1]))
    op = {"sequence": 10, "work_center": "P1-FRE", "setup_minutes": 1, "run_minutes_per_unit": 1}
    order = {
        "erp_number": "MO/0042",
        "site": "P1",
        "item": "FG-9",
        "quantity": 5,
        "due_date": "2026-12-20",
        "erp_version": 1,
        "reference": "SO/7781 ",
        "operations": [op],
    }
    post(erp, "orders", "work-orders", [order])
    wo = WorkOrder.objects.get(erp_number="MO/0042")
    assert wo.erp_reference == "SO/7781 "
    services.release_work_order(wo, actor=None)
    machine = MachineFactory(work_center=wc, site=p1)
    services.start_operation(wo.operations.get(), actor=None, machine=machine)
    post(erp, "orders", "work-orders", [{**order, "erp_version": 2, "reference": "SO/7790"}])
    wo.refresh_from_db()
    assert wo.erp_reference == "SO/7790"  # display text: current even once started
    post(erp, "orders", "work-orders", [{**order, "erp_version": 1, "reference": "old"}])
    wo.refresh_from_db()
    assert wo.erp_reference == "SO/7790"  # an older version changes nothing
    planner = client_for(make_user("planner_p1", "planner", [p1]))
    assert planner.get("/api/v1/work-orders/MO/0042/").json()["erp_reference"] == "SO/7790"
