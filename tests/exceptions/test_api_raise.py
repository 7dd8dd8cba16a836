"""Exceptions API: raising, with form and context validation, rules seen after relay; the types."""

import pytest

from exceptions.models import ExceptionTicket
from mes.models import OutboxEvent, WorkOrder
from tests.exceptions.api_common import URL, kinds, shortage_body, state
from tests.factories import LotFactory, MachineFactory, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


# --- create -----------------------------------------------------------------------------


def test_raise_shortage_then_rules_route_and_hold(running, supervisor, sup_client, relay):
    response = sup_client.post(URL, shortage_body(running), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == "P1-000001"
    assert (body["status"], body["phase"], body["severity"]) == ("open", "open", "high")
    assert (body["type"], body["category"], body["site"]) == (
        "material_shortage",
        "shortage",
        "P1",
    )
    assert body["work_order"] == "ZP/2026/07/0001"
    assert body["raised_by"] == supervisor.username
    assert body["raised_via"] == "api"
    assert body["queue"] is None  # rules apply after commit
    assert kinds(body) == ["raised"]
    assert body["timeline"][0]["actor"] == supervisor.username
    assert body["version"] == 1
    assert response["ETag"] == '"1"'
    assert response["Location"] == "/api/v1/exceptions/P1-000001/"
    assert {t["to"] for t in body["allowed_transitions"]} == {
        "acknowledged",
        "in_progress",
        "resolved",
        "cancelled",
    }
    cancel = next(t for t in body["allowed_transitions"] if t["to"] == "cancelled")
    assert cancel["reason_required"] is True
    ticket = ExceptionTicket.objects.get(pk=body["id"])
    assert ticket.data == {"material": "RM-DC01", "qty_missing": 40, "needed_by": "2026-07-02"}
    assert ticket.history.get().history_user == supervisor
    event = OutboxEvent.objects.get(type="exception.raised")
    assert (event.actor, event.payload["number"]) == (supervisor, "P1-000001")

    relay()

    detail = sup_client.get(f"{URL}P1-000001/").json()
    assert detail["queue"] == "procurement"
    assert detail["holds_work_order"] is True
    held = [e for e in detail["timeline"] if e["kind"] == "work_order_held"]
    assert len(held) == 1
    assert held[0]["rule"] == "A shortage holds its work order"
    assert held[0]["data"]["work_order"] == "ZP/2026/07/0001"
    assert detail["timeline"][0]["kind"] == "raised"
    assert WorkOrder.objects.get(pk=running.pk).status == "on_hold"


def test_raise_with_context_codes(p1, running, sup_client):
    op = running.operations.order_by("sequence").first()
    MachineFactory(work_center=op.work_center, site=p1, code="HAAS-1")
    LotFactory(site=p1, number="L-77")
    response = sup_client.post(
        URL,
        {
            "type": "machine_breakdown",
            "site": "P1",
            "machine": "HAAS-1",
            "work_order": running.erp_number,
            "operation": op.pk,
            "lot": "L-77",
            "severity": "critical",
            "data": {"symptom": "alarm", "alarm_code": "E-104"},
            "external_refs": {"sap_notification": "10004711"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["machine"], body["lot"]) == ("HAAS-1", "L-77")
    assert body["work_center"] == op.work_center.code
    assert (body["operation"], body["severity"]) == (op.pk, "critical")
    assert body["external_refs"] == {"sap_notification": "10004711"}


@pytest.mark.parametrize(
    ("type_code", "data", "field"),
    [
        ("material_shortage", {}, "material"),
        ("material_shortage", {"material": ""}, "material"),
        ("material_shortage", {"material": "RM-1", "qty_missing": "forty"}, "qty_missing"),
        ("material_shortage", {"material": "RM-1", "qty_missing": -1}, "qty_missing"),
        ("material_shortage", {"material": "RM-1", "needed_by": "tomorrow"}, "needed_by"),
        ("material_shortage", {"material": "RM-1", "line_stopped": "yes"}, "line_stopped"),
        ("material_shortage", {"material": "RM-1", "colour": "red"}, "colour"),
        ("machine_breakdown", {"symptom": "exploded"}, "symptom"),
        ("quality_problem", {"defect": "surface", "qty_affected": 2.5}, "qty_affected"),
        ("priority_shift", {"new_priority": 100}, "new_priority"),
    ],
)
def test_bad_form_field_is_400_naming_it(running, sup_client, type_code, data, field):
    before = state()
    response = sup_client.post(URL, {"type": type_code, "site": "P1", "data": data}, format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "invalid_form"
    assert field in body["fields"]["data"]
    assert field in body["detail"]
    assert state() == before


def test_form_data_must_be_an_object(sup_client, p1):
    before = state()
    response = sup_client.post(
        URL, {"type": "material_shortage", "site": "P1", "data": ["RM-1"]}, format="json"
    )
    assert response.status_code == 400
    assert "data" in response.json()["fields"]
    assert state() == before


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"type": "nope"}, "unknown_type", "type"),
        ({"site": "P9"}, "unknown_site", "site"),
        ({"site": "P2"}, "unknown_site", "site"),
        ({"work_order": "NOPE"}, "unknown_work_order", "work_order"),
        ({"work_order": "WO-P2"}, "unknown_work_order", "work_order"),
        ({"work_center": "NOPE"}, "unknown_work_center", "work_center"),
        ({"machine": "NOPE"}, "unknown_machine", "machine"),
        ({"lot": "NOPE"}, "unknown_lot", "lot"),
        ({"operation": 999999}, "unknown_operation", "operation"),
        ({"severity": "urgent"}, "invalid", "severity"),
        ({"site": None}, "invalid", "site"),
    ],
)
def test_unknown_references_are_400(running, p2_order, sup_client, change, code, field):
    before = state()
    response = sup_client.post(URL, shortage_body(running, **change), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert field in response.json()["fields"]
    assert state() == before


def test_other_sites_context_is_refused_even_when_visible(p1, p2, p2_order, user_in, client_for):
    """A user of both plants cannot raise at P1 against P2's work order or operation."""
    client = client_for(user_in("supervisor", p1, p2))
    before = state()
    response = client.post(URL, shortage_body(p2_order), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_work_order"
    op = p2_order.operations.first()
    response = client.post(URL, {**shortage_body(), "operation": op.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_operation"
    assert state() == before


def test_operation_of_another_work_order_is_refused(p1, running, sup_client):
    other = make_work_order(p1, status="in_progress")
    before = state()
    response = sup_client.post(
        URL, {**shortage_body(running), "operation": other.operations.first().pk}, format="json"
    )
    assert response.status_code == 400
    assert "operation" in response.json()["fields"]
    assert state() == before


def test_inactive_type_is_refused(p1, sup_client, shortage):
    shortage.is_active = False
    shortage.save()
    response = sup_client.post(URL, shortage_body(), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "inactive_type"
    assert not ExceptionTicket.objects.exists()


def test_anonymous_gets_401(client_for, p1):
    client = client_for(None)
    assert client.get(URL).status_code == 401
    response = client.post(URL, shortage_body(), format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert client.get("/api/v1/exception-types/").status_code == 401
    assert not ExceptionTicket.objects.exists()


def test_exception_types(p1, user_in, client_for, shortage):
    client = client_for(user_in("operator", p1))
    response = client.get("/api/v1/exception-types/")
    assert response.status_code == 200
    codes = [t["code"] for t in response.json()["results"]]
    assert codes[0] == "safety"  # floor order
    assert set(codes) == {
        "material_shortage",
        "machine_breakdown",
        "quality_problem",
        "order_change",
        "priority_shift",
        "missing_tooling",
        "safety",
        "out_of_spec",  # quality's
        "machine_downtime",  # raised by machines themselves
    }
    one = client.get("/api/v1/exception-types/material_shortage/").json()
    assert one["category"] == "shortage"
    assert one["workflow"] == "default"
    assert one["form_schema"]["required"] == ["material"]
    assert one["default_severity"] == "high"
    filtered = client.get("/api/v1/exception-types/?category=downtime").json()["results"]
    assert [t["code"] for t in filtered] == ["machine_breakdown", "machine_downtime"]
    shortage.is_active = False
    shortage.save()
    inactive = client.get("/api/v1/exception-types/?active=false").json()["results"]
    assert [t["code"] for t in inactive] == ["material_shortage"]
    assert client.get("/api/v1/exception-types/nope/").status_code == 404
    assert client.post("/api/v1/exception-types/", {}, format="json").status_code in (403, 405)
