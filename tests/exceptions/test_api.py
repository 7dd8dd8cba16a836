"""Exceptions API: raise with form validation, rules seen after relay, workflow over HTTP, site
scoping, idempotent create, ETags, history and outbox rows, attachments."""

import json
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from exceptions import services
from exceptions.models import Attachment, Decision, ExceptionEvent, ExceptionTicket
from mes import idempotency
from mes.models import IdempotencyRecord, OutboxEvent, WorkOrder
from tests.factories import LotFactory, MachineFactory, WorkCenterFactory, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

URL = "/api/v1/exceptions/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def running(p1):
    return make_work_order(p1, status="in_progress", erp_number="ZP/2026/07/0001")


@pytest.fixture
def supervisor(p1, user_in):
    return user_in("supervisor", p1)


@pytest.fixture
def procurement(p1, user_in):
    return user_in("procurement", p1)


@pytest.fixture
def sup_client(client_for, supervisor):
    return client_for(supervisor)


def shortage_body(wo=None, **extra):
    body = {
        "type": "material_shortage",
        "site": "P1",
        "description": "Brak blachy DC01",
        "data": {"material": "RM-DC01", "qty_missing": 40, "needed_by": "2026-07-02"},
    }
    if wo is not None:
        body["work_order"] = wo.erp_number
    return {**body, **extra}


def raise_ticket(actor, site, exception_type, **kwargs):
    kwargs.setdefault("data", {"material": "RM-1"})
    return services.raise_exception(actor=actor, exception_type=exception_type, site=site, **kwargs)


def state():
    """Everything a refused write must leave as it was."""
    return (
        ExceptionTicket.objects.count(),
        list(ExceptionTicket.objects.order_by("pk").values_list("status", "version", "severity")),
        ExceptionTicket.history.count(),
        ExceptionEvent.objects.count(),
        Decision.objects.count(),
        Attachment.objects.count(),
        OutboxEvent.objects.count(),
    )


def kinds(body):
    return [e["kind"] for e in body["timeline"]]


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


@pytest.fixture
def p2_order(p2):
    return make_work_order(p2, status="in_progress", erp_number="WO-P2")


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


# --- scoping ----------------------------------------------------------------------------


@pytest.fixture
def p2_ticket(p2, user_in, shortage):
    return raise_ticket(user_in("supervisor", p2), p2, shortage)


@pytest.fixture
def p1_ticket(p1, supervisor, shortage):
    return raise_ticket(supervisor, p1, shortage)


def test_list_shows_only_own_sites(p1_ticket, p2_ticket, sup_client, user_in, client_for):
    response = sup_client.get(URL)
    assert response.status_code == 200
    assert [r["number"] for r in response.json()["results"]] == [p1_ticket.number]
    auditor = client_for(user_in("auditor"))
    numbers = {r["number"] for r in auditor.get(URL).json()["results"]}
    assert numbers == {p1_ticket.number, p2_ticket.number}


def test_other_sites_ticket_is_404_for_reads_and_writes(p1_ticket, p2_ticket, sup_client):
    before = state()
    for ref in (p2_ticket.number, p2_ticket.pk):
        assert sup_client.get(f"{URL}{ref}/").status_code == 404
    path = f"{URL}{p2_ticket.number}/"
    writes = [
        sup_client.patch(path, {"severity": "low"}, format="json"),
        sup_client.post(f"{path}transition/", {"to": "acknowledged"}, format="json"),
        sup_client.post(f"{path}comments/", {"text": "x"}, format="json"),
        sup_client.post(f"{path}decision/", {"decision": "x"}, format="json"),
        sup_client.post(
            f"{path}attachments/",
            {"file": SimpleUploadedFile("a.png", PNG, content_type="image/png")},
            format="multipart",
        ),
    ]
    assert [r.status_code for r in writes] == [404] * 5
    assert {r.json()["code"] for r in writes} == {"not_found"}
    assert state() == before


def test_detail_by_id_and_by_number(p1_ticket, sup_client):
    by_number = sup_client.get(f"{URL}{p1_ticket.number}/")
    by_id = sup_client.get(f"{URL}{p1_ticket.pk}/")
    assert by_number.status_code == by_id.status_code == 200
    assert by_number.json() == by_id.json()
    assert by_number.json()["id"] == p1_ticket.pk
    assert by_number["ETag"] == '"1"'
    assert sup_client.get(f"{URL}P1-999999/").status_code == 404


# --- workflow ---------------------------------------------------------------------------


def _post_transition(client, ticket, to, reason=None):
    body = {"to": to} if reason is None else {"to": to, "reason": reason}
    return client.post(f"{URL}{ticket.number}/transition/", body, format="json")


@pytest.mark.parametrize(
    ("role", "to", "reason", "status", "code"),
    [
        ("supervisor", "acknowledged", None, 200, None),
        ("procurement", "in_progress", None, 200, None),
        ("operator", "acknowledged", None, 403, "role_not_allowed"),
        ("procurement", "cancelled", "dup", 403, "role_not_allowed"),
        ("supervisor", "closed", None, 409, "transition_not_allowed"),
        ("supervisor", "reopened", "x", 409, "transition_not_allowed"),
        ("supervisor", "nonsense", None, 409, "transition_not_allowed"),
        ("supervisor", "cancelled", None, 400, "reason_required"),
        ("supervisor", "cancelled", "  ", 400, "reason_required"),
        ("supervisor", "cancelled", "Raised twice", 200, None),
        ("supervisor", "resolved", None, 409, "decision_required"),
    ],
)
def test_workflow_rules_from_open(
    p1, p1_ticket, user_in, client_for, role, to, reason, status, code
):
    client = client_for(user_in(role, p1))
    before = state()
    response = _post_transition(client, p1_ticket, to, reason)
    assert response.status_code == status, response.json()
    if code:
        assert response.json()["code"] == code
        assert state() == before
        return
    body = response.json()
    assert body["status"] == to
    assert body["version"] == 2
    assert response["ETag"] == '"2"'
    assert kinds(body)[-1] == ("acknowledged" if to == "acknowledged" else "status_changed")
    ticket = ExceptionTicket.objects.get(pk=p1_ticket.pk)
    assert ticket.status == to
    assert ticket.acknowledged_at is not None
    latest = ticket.history.order_by("-history_id").first()
    assert latest.history_user.username.startswith(role)
    event = OutboxEvent.objects.filter(type="exception.status_changed").get()
    assert event.payload["previous_status"] == "open"
    assert event.payload["status"] == to
    if to == "cancelled":
        assert body["phase"] == "cancelled"
        assert ticket.closed_at is not None
        assert latest.history_change_reason == reason
        assert body["allowed_transitions"] == []


def test_full_lifecycle_over_api(p1, p1_ticket, user_in, client_for, procurement):
    proc = client_for(procurement)
    operator = client_for(user_in("operator", p1))
    lead = client_for(user_in("planner", p1))
    path = f"{URL}{p1_ticket.number}"

    assert _post_transition(proc, p1_ticket, "acknowledged").json()["phase"] == "acknowledged"
    assert _post_transition(proc, p1_ticket, "in_progress").json()["phase"] == "active"
    decided = proc.post(
        f"{path}/decision/",
        {"decision": "Substitute DC03", "reasoning": "same grade", "resolve": False},
        format="json",
    )
    assert decided.status_code == 201, decided.json()
    assert decided.json()["status"] == "in_progress"
    assert decided.json()["decisions"][0]["decided_by"] == procurement.username
    resolved = _post_transition(proc, p1_ticket, "resolved")
    assert resolved.status_code == 200, resolved.json()
    assert resolved.json()["resolved_at"] is not None
    # Closing is for leads; anyone but the operator's role list may reopen, with a reason.
    assert _post_transition(proc, p1_ticket, "closed").json()["code"] == "role_not_allowed"
    assert _post_transition(operator, p1_ticket, "reopened").json()["code"] == "reason_required"
    reopened = _post_transition(operator, p1_ticket, "reopened", "still short")
    assert reopened.json()["status"] == "reopened"
    assert reopened.json()["resolved_at"] is None
    assert _post_transition(proc, p1_ticket, "resolved").status_code == 200
    closed = _post_transition(lead, p1_ticket, "closed")
    assert closed.json()["phase"] == "closed"
    assert closed.json()["allowed_transitions"] == []
    after_close = _post_transition(lead, p1_ticket, "cancelled", "x")
    assert after_close.status_code == 409
    assert OutboxEvent.objects.filter(type="exception.status_changed").count() == 6


def test_allowed_transitions_follow_the_user(p1, p1_ticket, user_in, client_for):
    operator = client_for(user_in("operator", p1)).get(f"{URL}{p1_ticket.number}/").json()
    auditor = client_for(user_in("auditor")).get(f"{URL}{p1_ticket.number}/").json()
    assert operator["allowed_transitions"] == []
    assert auditor["allowed_transitions"] == []


# --- decision resolves and the held work order resumes ----------------------------------


def test_decision_resolves_and_work_order_resumes(
    running, sup_client, procurement, client_for, relay
):
    number = sup_client.post(URL, shortage_body(running), format="json").json()["number"]
    relay()
    assert WorkOrder.objects.get(pk=running.pk).status == "on_hold"
    proc = client_for(procurement)
    assert proc.get(f"{URL}?queue=mine").json()["count"] == 1

    response = proc.post(
        f"{URL}{number}/decision/",
        {"decision": "Expedite from Stalprofil", "reasoning": "stock 0, supplier has 2 t"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["phase"]) == ("resolved", "resolved")
    assert body["decisions"][0]["decision"] == "Expedite from Stalprofil"
    assert body["decisions"][0]["reasoning"] == "stock 0, supplier has 2 t"
    assert kinds(body)[-2:] == ["decision", "status_changed"]
    assert OutboxEvent.objects.filter(type="exception.decision").count() == 1
    assert Decision.objects.get().history.get().history_user == procurement
    relay()
    assert WorkOrder.objects.get(pk=running.pk).status == "in_progress"
    detail = proc.get(f"{URL}{number}/").json()
    resumed = [e for e in detail["timeline"] if e["kind"] == "work_order_resumed"]
    assert resumed[0]["rule"].startswith("Resume the work order")
    assert detail["holds_work_order"] is False


def test_decision_needs_text(p1_ticket, client_for, procurement):
    before = state()
    response = client_for(procurement).post(
        f"{URL}{p1_ticket.number}/decision/", {"decision": ""}, format="json"
    )
    assert response.status_code == 400
    assert "decision" in response.json()["fields"]
    assert state() == before


def test_decision_with_a_refused_move_records_nothing(p1, p1_ticket, user_in, client_for):
    """The operator may not resolve: the decision is rolled back with the move."""
    before = state()
    response = client_for(user_in("operator", p1)).post(
        f"{URL}{p1_ticket.number}/decision/", {"decision": "Use DC03"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"
    assert state() == before


# --- comments, patch --------------------------------------------------------------------


def test_comment(p1_ticket, sup_client, supervisor):
    response = sup_client.post(
        f"{URL}{p1_ticket.number}/comments/", {"text": "Truck at the gate 14:30"}, format="json"
    )
    assert response.status_code == 201
    last = response.json()["timeline"][-1]
    assert (last["kind"], last["message"], last["actor"]) == (
        "commented",
        "Truck at the gate 14:30",
        supervisor.username,
    )
    assert OutboxEvent.objects.filter(type="exception.commented").count() == 1
    empty = sup_client.post(f"{URL}{p1_ticket.number}/comments/", {"text": ""}, format="json")
    assert empty.status_code == 400
    assert "text" in empty.json()["fields"]


def test_patch_assigns_and_changes(p1, p1_ticket, sup_client, supervisor, procurement, running):
    response = sup_client.patch(
        f"{URL}{p1_ticket.number}/",
        {
            "assignee": procurement.username,
            "queue": "procurement",
            "severity": "critical",
            "work_order": running.erp_number,
            "data": {"material": "RM-2", "qty_missing": 3},
            "reason": "call from line 3",
        },
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["assignee"], body["queue"], body["severity"]) == (
        procurement.username,
        "procurement",
        "critical",
    )
    assert body["work_order"] == running.erp_number
    assert body["data"] == {"material": "RM-2", "qty_missing": 3}
    assert body["version"] == 2
    assert response["ETag"] == '"2"'
    assert {"assigned", "severity_changed", "updated"} <= set(kinds(body))
    latest = ExceptionTicket.history.filter(id=p1_ticket.pk).order_by("-history_id").first()
    assert (latest.history_user, latest.history_change_reason) == (supervisor, "call from line 3")
    event = OutboxEvent.objects.get(type="exception.updated")
    assert set(event.payload["changed"]) == {
        "assignee",
        "queue",
        "severity",
        "work_order",
        "data",
    }
    cleared = sup_client.patch(f"{URL}{p1_ticket.number}/", {"assignee": None}, format="json")
    assert cleared.json()["assignee"] is None


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"assignee": "nobody"}, "unknown_assignee", "assignee"),
        ({"assignee": "{p2_user}"}, "invalid_assignee", "assignee"),
        ({"queue": "janitors"}, "unknown_queue", "queue"),
        ({"work_order": "WO-P2"}, "unknown_work_order", "work_order"),
        ({"severity": "urgent"}, "invalid", "severity"),
        ({"data": {"qty_missing": 1}}, "invalid_form", "data"),
        ({"status": "closed"}, "read_only_field", "status"),
        ({"number": "P1-000999"}, "read_only_field", "number"),
    ],
)
def test_bad_patch_changes_nothing(
    p1_ticket, p2, p2_order, user_in, sup_client, change, code, field
):
    p2_user = user_in("procurement", p2)
    change = {
        k: v.format(p2_user=p2_user.username) if isinstance(v, str) else v
        for k, v in change.items()
    }
    before = state()
    response = sup_client.patch(f"{URL}{p1_ticket.number}/", change, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert field in response.json()["fields"]
    assert state() == before


def test_put_and_delete_are_not_offered(p1_ticket, sup_client):
    assert sup_client.put(f"{URL}{p1_ticket.number}/", {}, format="json").status_code == 405
    assert sup_client.delete(f"{URL}{p1_ticket.number}/").status_code == 405
    assert ExceptionTicket.objects.filter(pk=p1_ticket.pk).exists()


# --- ETag / If-Match --------------------------------------------------------------------


def test_stale_if_match_is_412_and_changes_nothing(p1_ticket, sup_client, procurement, client_for):
    path = f"{URL}{p1_ticket.number}/"
    etag = sup_client.get(path)["ETag"]
    # someone else changes the ticket meanwhile
    client_for(procurement).patch(path, {"severity": "low"}, format="json")
    before = state()

    writes = [
        sup_client.patch(path, {"severity": "critical"}, format="json", HTTP_IF_MATCH=etag),
        sup_client.post(
            f"{path}transition/", {"to": "acknowledged"}, format="json", HTTP_IF_MATCH=etag
        ),
        sup_client.post(f"{path}comments/", {"text": "x"}, format="json", HTTP_IF_MATCH=etag),
        sup_client.post(f"{path}decision/", {"decision": "x"}, format="json", HTTP_IF_MATCH=etag),
    ]

    assert [r.status_code for r in writes] == [412] * 4
    assert {r.json()["code"] for r in writes} == {"precondition_failed"}
    assert state() == before
    ticket = ExceptionTicket.objects.get(pk=p1_ticket.pk)
    assert (ticket.severity, ticket.status, ticket.version) == ("low", "open", 2)
    fresh = sup_client.get(path)["ETag"]
    assert fresh == '"2"'
    ok = sup_client.post(
        f"{path}transition/", {"to": "acknowledged"}, format="json", HTTP_IF_MATCH=fresh
    )
    assert ok.status_code == 200
    assert ok["ETag"] == '"3"'


@pytest.mark.parametrize("header", ["abc", '"1", "2"', 'W/"1"', '"-1"'])
def test_malformed_if_match_is_400(p1_ticket, sup_client, header):
    before = state()
    response = sup_client.patch(
        f"{URL}{p1_ticket.number}/", {"severity": "low"}, format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_if_match"
    assert state() == before


def test_if_match_star_and_absent_proceed(p1_ticket, sup_client):
    path = f"{URL}{p1_ticket.number}/"
    star = sup_client.patch(path, {"severity": "low"}, format="json", HTTP_IF_MATCH="*")
    assert star.json()["version"] == 2
    assert sup_client.patch(path, {"severity": "medium"}, format="json").json()["version"] == 3


# --- idempotent create ------------------------------------------------------------------


def test_retried_create_with_same_key_makes_one_ticket(running, sup_client):
    first = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert ExceptionTicket.objects.count() == 1
    assert OutboxEvent.objects.filter(type="exception.raised").count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.method, record.path, record.status) == ("POST", URL, 201)
    assert json.loads(record.response_body)["id"] == first.json()["id"]


def test_same_key_with_another_body_is_422(running, sup_client):
    sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    before = state()
    response = sup_client.post(
        URL,
        shortage_body(running, description="other"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert state() == before


def test_keys_are_per_user_and_refusals_are_not_stored(
    p1, running, sup_client, user_in, client_for
):
    bad = sup_client.post(
        URL, {**shortage_body(running), "data": {}}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    good = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 201
    other = client_for(user_in("supervisor", p1)).post(
        URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert other.status_code == 201
    assert other.json()["id"] != good.json()["id"]
    assert ExceptionTicket.objects.count() == 2


def test_idempotency_key_too_long_is_400(running, sup_client):
    response = sup_client.post(
        URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not ExceptionTicket.objects.exists()


def test_lost_race_replays_the_winner(running, sup_client, monkeypatch):
    """The twin that misses the record on its first look loses on the unique constraint, rolls
    back its own ticket and answers with the winner's."""
    first = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    real = idempotency._stored
    looks = []

    def late(user, key):
        looks.append(key)
        return None if len(looks) == 1 else real(user, key)

    monkeypatch.setattr(idempotency, "_stored", late)
    again = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-4")

    assert len(looks) == 2
    assert again.status_code == 201
    assert again.content == first.content
    assert ExceptionTicket.objects.count() == 1
    assert OutboxEvent.objects.filter(type="exception.raised").count() == 1


def test_concurrent_identical_creates_make_one_ticket(
    transactional_db, require_postgres, p1, user_in, client_for
):
    supervisor = user_in("supervisor", p1)
    body = {"type": "machine_breakdown", "site": "P1", "data": {"symptom": "alarm"}}
    clients = [client_for(supervisor) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    responses, errors = [], []

    def post(client):
        try:
            barrier.wait()
            responses.append(
                client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="tablet-7-0001")
            )
        except Exception as exc:  # noqa: BLE001 - report any failure of the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.content for r in responses}) == 1
    assert ExceptionTicket.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert OutboxEvent.objects.filter(type="exception.raised").count() == 1


# --- permissions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "", {"type": "material_shortage", "site": "P1", "data": {"material": "X"}}),
        ("patch", "{n}/", {"severity": "low"}),
        ("post", "{n}/transition/", {"to": "acknowledged"}),
        ("post", "{n}/comments/", {"text": "audit note"}),
        ("post", "{n}/decision/", {"decision": "x"}),
        ("post", "{n}/attachments/", "file"),
        ("put", "{n}/", {}),
        ("delete", "{n}/", None),
    ],
)
def test_auditor_reads_but_every_write_is_refused(
    p1_ticket, user_in, client_for, method, path, body
):
    client = client_for(user_in("auditor"))
    assert client.get(f"{URL}{p1_ticket.number}/").status_code == 200
    before = state()
    url = URL + path.format(n=p1_ticket.number)
    if body == "file":
        upload = SimpleUploadedFile("a.png", PNG, content_type="image/png")
        response = client.post(url, {"file": upload}, format="multipart")
    else:
        response = getattr(client, method)(url, body, format="json")
    assert response.status_code in (403, 405)
    if method in ("post", "patch"):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert state() == before


def test_role_without_exception_permissions_is_403(p1, p1_ticket, client_for, django_user_model):
    from tests.factories import make_user

    client = client_for(make_user("visitor", None, [p1]))
    assert client.get(URL).status_code == 403
    assert client.post(URL, shortage_body(), format="json").status_code == 403
    assert client.get("/api/v1/exception-types/").status_code == 403


# --- list filters -----------------------------------------------------------------------


@pytest.fixture
def tickets(p1, p2, supervisor, procurement, user_in, shortage, breakdown):
    from django.contrib.auth.models import Group

    a = raise_ticket(supervisor, p1, shortage)
    b = raise_ticket(supervisor, p1, breakdown, data={"symptom": "leak"}, severity="low")
    c = raise_ticket(supervisor, p1, shortage)
    services.update_exception(
        c, actor=supervisor, assignee=procurement, queue=Group.objects.get(name="procurement")
    )
    services.transition_exception(c, actor=supervisor, to="cancelled", reason="duplicate")
    d = raise_ticket(user_in("supervisor", p2), p2, shortage)
    services.update_exception(
        b, actor=supervisor, queue=Group.objects.get(name="supervisor"), assignee=supervisor
    )
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["c", "b", "a"]),
        ("site=P1", ["c", "b", "a"]),
        ("site=P2", []),
        ("status=open", ["b", "a"]),
        ("status=open,cancelled", ["c", "b", "a"]),
        ("phase=cancelled", ["c"]),
        ("type=machine_breakdown", ["b"]),
        ("category=shortage", ["c", "a"]),
        ("severity=low", ["b"]),
        ("severity=high,critical", ["c", "a"]),
        ("assignee={procurement}", ["c"]),
        ("mine=true", ["b"]),
        ("queue=procurement", ["c"]),
        ("queue=mine", ["b"]),
        ("open=true", ["b", "a"]),
        ("open=false", ["c"]),
        ("raised_after=2000-01-01T00:00:00Z", ["c", "b", "a"]),
        ("raised_before=2000-01-01T00:00:00Z", []),
    ],
)
def test_list_filters(tickets, sup_client, procurement, query, expected):
    """As the P1 supervisor (mine and queue=mine are the supervisor's)."""
    response = sup_client.get(f"{URL}?{query.format(procurement=procurement.username)}")
    assert response.status_code == 200, response.json()
    assert [r["number"] for r in response.json()["results"]] == [
        tickets[k].number for k in expected
    ]


@pytest.mark.parametrize(
    "query",
    [
        "raised_after=yesterday",
        "raised_before=2026-13-01T00:00:00Z",
        "phase=nonsense",
        "severity=urgent",
        "category=nonsense",
    ],
)
def test_bad_filter_is_400(tickets, sup_client, query):
    response = sup_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "invalid_filter", "invalid_choice")


def test_list_query_count_is_flat(
    p1, supervisor, sup_client, shortage, running, django_assert_max_num_queries
):
    machine = MachineFactory(work_center=WorkCenterFactory(site=p1), site=p1)
    lot = LotFactory(site=p1)
    for _ in range(12):
        raise_ticket(supervisor, p1, shortage, work_order=running, machine=machine, lot=lot)
    with django_assert_max_num_queries(7):
        response = sup_client.get(URL)
    assert len(response.json()["results"]) == 12
    assert response.json()["results"][0]["machine"] == machine.code


# --- attachments ------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _upload(client, ticket, name="photo.png", content=PNG, content_type="image/png"):
    return client.post(
        f"{URL}{ticket.number}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )


def test_attachment_upload_and_scoped_download(
    media, p1, p2, p1_ticket, sup_client, supervisor, user_in, client_for
):
    response = _upload(sup_client, p1_ticket)

    assert response.status_code == 201, response.json()
    body = response.json()
    [attachment] = body["attachments"]
    assert (attachment["name"], attachment["content_type"], attachment["size"]) == (
        "photo.png",
        "image/png",
        len(PNG),
    )
    assert attachment["uploaded_by"] == supervisor.username
    assert kinds(body)[-1] == "attachment"
    assert attachment["url"].endswith(
        f"/api/v1/exceptions/{p1_ticket.pk}/attachments/{attachment['id']}/"
    )
    assert "/media/" not in attachment["url"]
    assert OutboxEvent.objects.filter(type="exception.attachment_added").count() == 1

    download = sup_client.get(attachment["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert "attachment" in download["Content-Disposition"]

    assert client_for(user_in("auditor")).get(attachment["url"]).status_code == 200
    other = client_for(user_in("supervisor", p2))
    assert other.get(attachment["url"]).status_code == 404
    assert client_for(None).get(attachment["url"]).status_code == 401
    # an attachment id of another ticket is not reachable through this one
    second = raise_ticket(supervisor, p1, p1_ticket.type)
    assert sup_client.get(f"{URL}{second.pk}/attachments/{attachment['id']}/").status_code == 404


def test_attachment_of_wrong_type_is_400(media, p1_ticket, sup_client):
    before = state()
    response = _upload(sup_client, p1_ticket, "notes.html", b"<script>", "text/html")
    assert response.status_code == 400
    assert response.json()["code"] == "attachment_type"
    assert "file" in response.json()["fields"]
    assert state() == before


def test_attachment_too_large_is_400(media, settings, p1_ticket, sup_client):
    settings.ANDON_ATTACHMENT_MAX_BYTES = 16
    before = state()
    response = _upload(sup_client, p1_ticket)
    assert response.status_code == 400
    assert response.json()["code"] == "attachment_too_large"
    assert state() == before
    assert not any(media.rglob("*.png"))


def test_attachment_without_file_is_400(media, p1_ticket, sup_client):
    response = sup_client.post(f"{URL}{p1_ticket.number}/attachments/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["fields"]


# --- exception types --------------------------------------------------------------------


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
    }
    one = client.get("/api/v1/exception-types/material_shortage/").json()
    assert one["category"] == "shortage"
    assert one["workflow"] == "default"
    assert one["form_schema"]["required"] == ["material"]
    assert one["default_severity"] == "high"
    filtered = client.get("/api/v1/exception-types/?category=downtime").json()["results"]
    assert [t["code"] for t in filtered] == ["machine_breakdown"]
    shortage.is_active = False
    shortage.save()
    inactive = client.get("/api/v1/exception-types/?active=false").json()["results"]
    assert [t["code"] for t in inactive] == ["material_shortage"]
    assert client.get("/api/v1/exception-types/nope/").status_code == 404
    assert client.post("/api/v1/exception-types/", {}, format="json").status_code in (403, 405)
