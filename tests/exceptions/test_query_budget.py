"""Statements per request on the core path (besides transaction control), and configuration
kept per process that is never stale after a change (mes.config_cache)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exceptions import services
from exceptions.models import ExceptionTicket, SlaPolicy, WorkflowTransition
from mes.access import revoke_site_access
from tests.exceptions.api_common import URL, shortage_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


class Statements(CaptureQueriesContext):
    """The statements run inside, transaction control left out."""

    @property
    def run(self) -> list[str]:
        return [q["sql"] for q in self.captured_queries if not q["sql"].startswith(CONTROL)]

    def __len__(self) -> int:
        return len(self.run)


def statements():
    return Statements(connection)


def raise_one(client, wo, **extra):
    response = client.post(URL, shortage_body(wo, **extra), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_raise_runs_at_most_ten_statements(running, sup_client):
    raise_one(sup_client, running)  # the process reads the configuration once
    with statements() as ran:
        body = raise_one(sup_client, running)
    assert len(ran) <= 10, ran.run
    assert body["number"] == "P1-000002"
    assert [e["kind"] for e in body["timeline"]] == ["raised"]
    assert body["allowed_transitions"]  # built from the kept workflow, no query
    counter = [sql for sql in ran.run if "exceptions_sitecounter" in sql]
    assert len(counter) == 1 and counter[0].startswith("INSERT")  # one upsert, nothing else


def test_transition_runs_at_most_ten_statements(running, sup_client):
    number = raise_one(sup_client, running)["number"]
    sup_client.get(f"{URL}{number}/")
    with statements() as ran:
        response = sup_client.post(
            f"{URL}{number}/transition/", {"to": "acknowledged"}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert len(ran) <= 10, ran.run
    body = response.json()
    assert [e["kind"] for e in body["timeline"]] == ["raised", "acknowledged"]
    assert body["version"] == 2 and response["ETag"] == '"2"'
    assert body["work_order"] == running.erp_number  # carried from the ticket read first


def test_answer_after_a_decision_shows_it(running, sup_client):
    number = raise_one(sup_client, running)["number"]
    response = sup_client.post(
        f"{URL}{number}/decision/", {"decision": "Use DC04", "to": "resolved"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [d["decision"] for d in body["decisions"]] == ["Use DC04"]
    assert body["status"] == "resolved"
    again = sup_client.get(f"{URL}{number}/").json()
    assert again["decisions"] == body["decisions"] and again["timeline"] == body["timeline"]


def test_detail_and_list_do_not_grow_with_rows(running, sup_client, supervisor):
    number = raise_one(sup_client, running)["number"]

    def count(url):
        with statements() as ran:
            assert sup_client.get(url).status_code == 200
        return len(ran)

    detail, listed = count(f"{URL}{number}/"), count(URL)
    ticket = ExceptionTicket.objects.get(number=number)
    for i in range(4):
        services.comment_exception(ticket, actor=supervisor, text=f"note {i}")
        raise_one(sup_client, running)
    services.record_decision(ticket, actor=supervisor, decision="wait")
    assert count(f"{URL}{number}/") <= detail + 1  # the decisions, now that there are some
    assert count(URL) == listed
    assert detail <= 4


# --- never stale ------------------------------------------------------------------------


def test_a_changed_sla_target_applies_to_the_next_raise(running, sup_client):
    first = raise_one(sup_client, running)
    policy = SlaPolicy.objects.get(type__isnull=True, severity="high")
    policy.acknowledge_minutes += 7
    services.save_sla_policy(policy, actor=None, reason="longer")
    second = raise_one(sup_client, running)
    gap = ExceptionTicket.objects.get(number=second["number"])
    assert (gap.ack_due_at - gap.raised_at).total_seconds() / 60 == pytest.approx(
        policy.acknowledge_minutes, abs=0.1
    )
    assert first["ack_due_at"] != second["ack_due_at"]


def test_a_role_taken_off_a_move_is_refused_at_once(running, sup_client):
    number = raise_one(sup_client, running)["number"]
    moves = sup_client.get(f"{URL}{number}/").json()["allowed_transitions"]
    assert "acknowledged" in {m["to"] for m in moves}
    move = WorkflowTransition.objects.get(
        workflow__code="default", from_state__code="open", to_state__code="acknowledged"
    )
    move.roles.set([Group.objects.get(name="maintenance")])
    moves = sup_client.get(f"{URL}{number}/").json()["allowed_transitions"]
    assert "acknowledged" not in {m["to"] for m in moves}
    response = sup_client.post(f"{URL}{number}/transition/", {"to": "acknowledged"}, format="json")
    assert response.status_code == 403, response.json()


def test_a_revoked_site_or_role_is_refused_at_once(running, sup_client, supervisor, p1):
    raise_one(sup_client, running)
    revoke_site_access(supervisor, p1)
    response = sup_client.post(URL, shortage_body(running), format="json")
    assert response.status_code == 400, response.json()  # the site is unknown to them now
    assert sup_client.get(URL).json()["count"] == 0


def test_a_role_removed_from_the_account_is_refused_at_once(running, sup_client, supervisor):
    raise_one(sup_client, running)
    supervisor.groups.clear()
    response = sup_client.post(URL, shortage_body(running), format="json")
    assert response.status_code == 403, response.json()


def _ack_minutes(body) -> float:
    ticket = ExceptionTicket.objects.get(number=body["number"])
    return (ticket.ack_due_at - ticket.raised_at).total_seconds() / 60


def _behind_the_back(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_a_change_written_elsewhere_is_seen_once_the_generation_moves(running, sup_client):
    """Another process writes the change and the new generation (no signal here): what this
    process kept is not used past it; until it moves, what is kept is used (it is kept)."""
    before = _ack_minutes(raise_one(sup_client, running))
    _behind_the_back(
        "UPDATE exceptions_slapolicy SET acknowledge_minutes = 3 "
        "WHERE type_id IS NULL AND severity = 'high'"
    )
    assert _ack_minutes(raise_one(sup_client, running)) == pytest.approx(before, abs=0.1)
    _behind_the_back("UPDATE mes_configgeneration SET token = 'another-process'")
    assert _ack_minutes(raise_one(sup_client, running)) == pytest.approx(3, abs=0.1)
