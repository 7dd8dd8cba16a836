"""The workflow diagram: the states and moves drawn, unreachable states and open states with no
way out flagged, from the saved workflow and from rows being edited; the endpoint's guards."""

import json

import pytest
from django.urls import reverse

from exceptions.admin.workflow_view import saved_diagram
from exceptions.models import Workflow
from exceptions.workflow_diagram import Move, State, dead_ends, depths, draw
from tests.factories import make_user

pytestmark = pytest.mark.django_db

DIAGRAM = "admin:exceptions_workflow_diagram"
WORDS = {k: k for k in ("any", "everyone", "reason", "decision", "initial", "unreachable")}
WORDS["dead_end"] = "dead_end"
FIVE = [
    State("reported", "Reported", "open"),
    State("inspected", "Inspected", "acknowledged"),
    State("repair", "Repair scheduled", "active"),
    State("repaired", "Repaired", "resolved", requires_decision=True),
    State("closed", "Closed", "closed"),
]
MOVES = [
    Move("reported", "inspected", "Inspect", ("maintenance",)),
    Move("inspected", "repair", "Schedule repair", ("maintenance", "supervisor")),
    Move("repair", "repaired", "Repaired", ("maintenance",)),
    Move("repaired", "closed", "Close", ("supervisor",), reason_required=True),
]


def test_the_five_states_are_drawn_in_order_with_their_moves():
    drawn = draw("reported", FIVE, MOVES, WORDS)
    assert drawn.unreachable == [] and drawn.dead_ends == []
    for state in FIVE:
        assert f'data-state="{state.code}"' in drawn.svg and state.name in drawn.svg
    assert drawn.svg.count('class="wf-move"') == 4
    assert "Schedule repair" in drawn.svg and "maintenance, supervisor" in drawn.svg
    assert drawn.moves[3] == {
        "from": "Repaired",
        "to": "Closed",
        "label": "Close",
        "roles": ["supervisor"],
        "reason": True,
        "decision": False,
    }
    assert drawn.moves[2]["decision"] is True  # into a state that needs a decision
    assert depths("reported", {s.code: s for s in FIVE}, MOVES) == {
        "reported": 0,
        "inspected": 1,
        "repair": 2,
        "repaired": 3,
        "closed": 4,
    }


def test_a_state_without_a_move_into_it_is_unreachable_and_one_without_a_way_out_is_stuck():
    states = [*FIVE, State("waiting", "Waiting for parts", "active")]
    drawn = draw("reported", states, MOVES, WORDS)
    assert drawn.unreachable == ["waiting"] and drawn.dead_ends == ["waiting"]
    assert 'class="wf-state wf-unreachable wf-dead-end" data-state="waiting"' in drawn.svg
    reached = [*MOVES, Move("repair", "waiting", "Wait")]
    assert draw("reported", states, reached, WORDS).unreachable == []
    assert draw("reported", states, reached, WORDS).dead_ends == ["waiting"]


def test_a_move_from_any_open_state_reaches_and_leaves_every_open_state():
    states = [*FIVE, State("cancelled", "Cancelled", "cancelled")]
    moves = [*MOVES[:2], Move(None, "cancelled", "Cancel", reason_required=True)]
    drawn = draw("reported", states, moves, WORDS)
    assert "cancelled" not in drawn.unreachable
    assert dead_ends({s.code: s for s in states}, moves) == []
    assert drawn.moves[-1]["from"] == "any" and drawn.moves[-1]["roles"] == ["everyone"]


def test_names_are_escaped_in_the_drawing():
    drawn = draw("a", [State('a"><script>', "<b>x</b>", "open")], [], WORDS)
    assert "<script>" not in drawn.svg and "<b>" not in drawn.svg


def test_the_seeded_workflow_is_drawn_without_flags():
    drawn = saved_diagram(Workflow.objects.get(code="default"))
    assert drawn.unreachable == [] and drawn.dead_ends == []
    assert "Acknowledge" in drawn.svg


def _post(client, payload):
    return client.post(reverse(DIAGRAM), payload, content_type="application/json")


def test_the_page_redraws_rows_being_edited(as_manager):
    payload = {
        "initial": "reported",
        "states": [{"code": s.code, "name": s.name, "phase": s.phase} for s in FIVE]
        + [{"code": "waiting", "name": "Waiting", "phase": "active"}],
        "moves": [
            {"from": m.source, "to": m.target, "label": m.label, "roles": list(m.roles)}
            for m in MOVES
        ],
    }
    answer = _post(as_manager, json.dumps(payload))
    assert answer.status_code == 200
    body = answer.json()
    assert body["unreachable"] == ["waiting"]
    assert "State waiting is unreachable" in body["html"]


@pytest.mark.parametrize("payload", ["{nope", "[]", "3"])
def test_the_endpoint_refuses_what_is_not_rows(as_manager, payload):
    answer = _post(as_manager, payload)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_json"


def test_the_endpoint_refuses_huge_bodies_and_who_may_not_see_workflows(as_manager, client, p1):
    assert _post(as_manager, json.dumps({"states": ["x" * 200_000]})).status_code == 413
    assert as_manager.get(reverse(DIAGRAM)).status_code == 405
    client.force_login(make_user("staff_nobody", None, [p1], is_staff=True))
    assert _post(client, "{}").status_code == 403


def test_the_workflow_page_shows_the_diagram(as_manager):
    workflow = Workflow.objects.get(code="default")
    url = reverse("admin:exceptions_workflow_change", args=[workflow.pk])
    html = as_manager.get(url).content.decode()
    assert 'class="wf-live"' in html and "<svg" in html and "workflow_diagram.js" in html
