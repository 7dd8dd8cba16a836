"""Exceptions API: site scoping, workflow over HTTP, decisions, comments, changes, ETags."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from exceptions.models import Decision, ExceptionTicket
from mes.models import OutboxEvent, WorkOrder
from tests.exceptions.api_common import PNG, URL, kinds, shortage_body, state

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


# --- scoping ----------------------------------------------------------------------------


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
        ({"assignee": "nobody"}, "invalid_assignee", "assignee"),
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
