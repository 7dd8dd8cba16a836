"""The workflow page's diagram: the workflow as saved (a read-only field) and, while its rows
are edited, as they say (``static/exceptions/workflow_diagram.js`` posts them to
:func:`diagram_view`; nothing is saved), with unreachable states and open states with no way
out flagged before the manager saves."""

from __future__ import annotations

import json

from django.contrib.auth.models import Group
from django.template.loader import render_to_string
from django.utils.translation import gettext

from mes.roles import ROLES

from ..models import Workflow, WorkflowState
from ..workflow import table as workflow_table
from ..workflow_diagram import Diagram, Move, State, draw, from_rows
from .json_endpoint import json_endpoint

MAX_BODY = 100_000
MAX_ROWS = 200


def words() -> dict[str, str]:
    return {
        "any": gettext("any open state"),
        "everyone": gettext("every role"),
        "reason": gettext("reason required"),
        "decision": gettext("decision required"),
        "initial": gettext("start"),
        "unreachable": gettext("unreachable"),
        "dead_end": gettext("no way out"),
    }


def saved_diagram(workflow: Workflow) -> Diagram:
    """The workflow as saved, from the per-process workflow table (``exceptions.workflow``)."""
    table = workflow_table(workflow.pk)
    states, moves = from_rows(table.states.values(), table.transitions)
    return draw(workflow.initial_state, states, moves, words())


def render_diagram(diagram: Diagram) -> str:
    return render_to_string("admin/exceptions/workflow/diagram.html", {"diagram": diagram})


def live_context(workflow: Workflow | None) -> dict:
    """What the page's script needs to read the rows: saved states' ids -> codes, role ids
    -> names."""
    states = (
        dict(WorkflowState.objects.filter(workflow=workflow).values_list("pk", "code"))
        if workflow is not None and workflow.pk
        else {}
    )
    roles = dict(Group.objects.filter(name__in=ROLES).values_list("pk", "name"))
    return {"states": json.dumps(states), "roles": json.dumps(roles)}


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _rows(value) -> list:
    return value[:MAX_ROWS] if isinstance(value, list) else []


def diagram_from_rows(payload: dict) -> Diagram:
    """The diagram of rows as the page sends them (codes, not ids); what is not a string or
    a list of strings is ignored, as the rows would be refused on save anyway."""
    states, seen = [], set()
    for row in _rows(payload.get("states")):
        code = _text(row.get("code"), 40) if isinstance(row, dict) else ""
        if code and code not in seen and len(states) < MAX_ROWS:
            seen.add(code)
            states.append(
                State(
                    code,
                    _text(row.get("name"), 100) or code,
                    _text(row.get("phase"), 20),
                    row.get("requires_decision") is True,
                )
            )
    moves = []
    for row in _rows(payload.get("moves")):
        if not isinstance(row, dict) or not _text(row.get("to"), 40):
            continue
        roles = row.get("roles") if isinstance(row.get("roles"), list) else []
        moves.append(
            Move(
                _text(row.get("from"), 40) or None,
                _text(row.get("to"), 40),
                _text(row.get("label"), 60),
                tuple(sorted(_text(r, 150) for r in roles if isinstance(r, str))),
                row.get("reason") is True,
            )
        )
    return draw(_text(payload.get("initial"), 40), states, moves, words())


def diagram(request, payload: dict) -> dict:
    drawn = diagram_from_rows(payload)
    return {**drawn.as_json(), "html": render_diagram(drawn)}


def diagram_view(admin_view):
    return json_endpoint(
        admin_view, diagram, limit=MAX_BODY, shape='{"states": [...], "moves": [...]}'
    )
