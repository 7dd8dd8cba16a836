"""Issue 12, hole 6: who may change what on a ticket. Lowering the severity, moving the queue
and assigning others are triage; decisions are for roles that may resolve; customer service
reads; the ERP's account reaches only the ERP's endpoints and never signs in."""

import pytest
from django.test import Client

from exceptions.models import ExceptionType
from tests.exceptions.api_common import URL, raise_ticket, state
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def safety_ticket(p1, supervisor):
    kind = ExceptionType.objects.get(code="safety")
    return raise_ticket(supervisor, p1, kind, data={"hazard": "spill"})


def patch(client, ticket, **body):
    return client.patch(f"{URL}{ticket.number}/", body, format="json")


def test_an_operator_cannot_lower_a_critical_safety_ticket(p1, safety_ticket, client_for, user_in):
    operator = client_for(user_in("operator", p1))
    assert safety_ticket.severity == "critical"
    due = (safety_ticket.resolve_due_at, safety_ticket.next_escalation_at)
    before = state()
    answer = patch(operator, safety_ticket, severity="low")
    assert (answer.status_code, answer.json()["code"]) == (403, "field_not_allowed")
    assert "severity" in answer.json()["fields"]
    assert state() == before
    safety_ticket.refresh_from_db()
    assert (safety_ticket.resolve_due_at, safety_ticket.next_escalation_at) == due


def test_an_operator_raises_severity_and_takes_a_ticket_but_does_not_triage(
    p1, p1_ticket, client_for, user_in, supervisor
):
    me = user_in("operator", p1)
    operator = client_for(me)
    assert p1_ticket.severity != "critical"
    assert patch(operator, p1_ticket, severity="critical").status_code == 200
    for body, field in [
        ({"queue": "maintenance"}, "queue"),
        ({"assignee": supervisor.username}, "assignee"),
    ]:
        answer = patch(operator, p1_ticket, **body)
        assert (answer.status_code, answer.json()["code"]) == (403, "field_not_allowed"), body
        assert field in answer.json()["fields"]
    assert patch(operator, p1_ticket, assignee=me.username).status_code == 200
    p1_ticket.refresh_from_db()
    assert p1_ticket.assignee == me


def test_a_supervisor_triages(p1, p1_ticket, sup_client, user_in):
    colleague = user_in("maintenance", p1)
    answer = patch(sup_client, p1_ticket, severity="low", queue="maintenance")
    assert answer.status_code == 200, answer.json()
    assert patch(sup_client, p1_ticket, assignee=colleague.username).status_code == 200


def test_customer_service_reads_and_changes_nothing(p1, p1_ticket, client_for, user_in):
    reader = client_for(user_in("customer_service", p1))
    assert reader.get(f"{URL}{p1_ticket.number}/").status_code == 200
    before = state()
    for path, body in [
        ("decision/", {"decision": "Ship it anyway"}),
        ("transition/", {"to": "resolved", "reason": "x"}),
        ("comments/", {"text": "hello"}),
    ]:
        answer = reader.post(f"{URL}{p1_ticket.number}/{path}", body, format="json")
        assert answer.status_code == 403, path
    assert patch(reader, p1_ticket, description="mine now").status_code == 403
    assert reader.post(URL, {"type": "material_shortage", "site": "P1"}).status_code == 403
    assert state() == before


def test_a_decision_needs_a_role_that_may_resolve(p1, p1_ticket, client_for, user_in):
    """Even without resolving now: who may not resolve does not decide."""
    before = state()
    answer = client_for(user_in("operator", p1)).post(
        f"{URL}{p1_ticket.number}/decision/",
        {"decision": "Use DC03", "resolve": False},
        format="json",
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "role_not_allowed")
    assert state() == before


def test_the_erp_account_uses_only_the_erp_endpoints(p1, p1_ticket, running):
    erp = make_user("erp", "erp_integration", [p1])
    key = make_token(erp)
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    before = state()
    for method, path, body in [
        ("post", f"/api/v1/work-orders/{running.erp_number}/hold/", {"reason": "x"}),
        ("post", URL, {"type": "material_shortage", "site": "P1", "data": {"material": "X"}}),
        ("post", f"{URL}{p1_ticket.number}/comments/", {"text": "hi"}),
        ("get", URL, None),
        ("get", "/api/v1/lots/", None),
        ("post", "/api/v1/ws-tickets/", None),
    ]:
        answer = getattr(client, method)(path, body, format="json")
        code = answer.json().get("code") if answer.status_code != 204 else None
        assert (answer.status_code, code) == (403, "service_account"), (path, answer.content)
    assert state() == before
    running.refresh_from_db()
    assert running.status == "in_progress"
    # its own endpoints answer
    batch = client.post(
        "/api/v1/erp/items/batch/",
        {"items": [{"code": "RM-NEW", "name": "Pręt", "kind": "raw", "unit": "pcs"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="role-gaps-1",
    )
    assert batch.status_code == 200, batch.content
    assert client.get(f"/api/v1/work-orders/{running.erp_number}/").status_code == 200
    # and it never signs in with a password, on the floor's page or the admin's
    for path in ("/login/", "/admin/login/"):
        page = Client().post(path, {"username": "erp", "password": "pw"})
        assert page.status_code == 200 and "_auth_user_id" not in page.wsgi_request.session


def test_an_erp_account_given_a_persons_role_is_a_person(p1, running, client_for):
    both = make_user("erp_planner", "erp_integration", [p1])
    from django.contrib.auth.models import Group

    both.groups.add(Group.objects.get(name="planner"))
    answer = client_for(both).post(
        f"/api/v1/work-orders/{running.erp_number}/hold/", {"reason": "x"}, format="json"
    )
    assert answer.status_code == 200, answer.json()


def test_the_assignee_error_does_not_tell_whether_an_account_exists(
    p1, p2, p1_ticket, sup_client, user_in
):
    user_in("supervisor", p2)  # exists, at the other site
    reader = user_in("customer_service", p1)  # exists, here, but cannot act on tickets
    answers = [
        patch(sup_client, p1_ticket, assignee=name).json()
        for name in ("supervisor_2", reader.username, "nobody")
    ]
    assert {a["code"] for a in answers} == {"invalid_assignee"}
    shapes = {
        a["detail"].replace(name, "?")
        for a, name in zip(answers, ("supervisor_2", reader.username, "nobody"), strict=True)
    }
    assert len(shapes) == 1
