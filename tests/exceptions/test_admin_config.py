"""The admin of the exceptions configuration: types, workflows and routing rules, with
validation and history."""

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exceptions.models import (
    ExceptionTicket,
    ExceptionType,
    RoutingRule,
    Workflow,
    WorkflowState,
    WorkflowTransition,
)
from tests.admin_helpers import assert_admin_pages_open
from tests.exceptions.admin_common import (
    DRY_RUN,
    _management,
    _rule_data,
    _type_data,
    _url,
)
from tests.factories import WorkCenterFactory, make_work_order

pytestmark = pytest.mark.django_db


# --- pages ---------------------------------------------------------------------------------


def test_manager_gets_every_changelist_change_and_history_page(as_manager, p1, shortage, raise_at):
    ticket = raise_at(p1, shortage, work_order=make_work_order(p1, status="in_progress"))
    records = [
        shortage,
        shortage.workflow,
        RoutingRule.objects.get(order=20, trigger="raised"),
        ticket,
    ]
    for record in records:
        assert_admin_pages_open(as_manager, record)
    assert as_manager.get(reverse(DRY_RUN)).status_code == 200


def test_type_page_previews_the_form_parsed_from_the_schema(as_manager, shortage):
    html = as_manager.get(_url(ExceptionType, "change", shortage.pk)).content.decode()

    assert "Missing quantity" in html
    assert "Material (item code)" in html
    assert "Field types:" in html  # the schema's help text


def test_rule_changelist_links_the_dry_run_and_summarises_rules(as_manager):
    html = as_manager.get(_url(RoutingRule, "changelist")).content.decode()

    assert reverse(DRY_RUN) in html
    assert "category shortage" in html
    assert "assign_role(role=procurement)" in html


@pytest.mark.parametrize("model", [ExceptionTicket, RoutingRule, ExceptionType])
def test_changelist_queries_do_not_grow_with_rows(as_manager, p1, shortage, raise_at, model):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert as_manager.get(_url(model, "changelist")).status_code == 200
        return len(queries)

    raise_at(p1, shortage)
    count_queries()  # the configuration read once, then kept (mes.config_cache)
    few = count_queries()
    for _ in range(3):
        raise_at(p1, shortage, work_center=WorkCenterFactory(site=p1))

    assert count_queries() == few


# --- exception types -----------------------------------------------------------------------


def test_an_invalid_form_schema_is_refused_on_the_field(as_manager, shortage):
    before = shortage.form_schema
    bad = '{"properties": {"qty": {"type": "float"}}, "required": ["missing"]}'

    response = as_manager.post(
        _url(ExceptionType, "change", shortage.pk), _type_data(shortage, form_schema=bad)
    )

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["form_schema"])
    assert "qty" in errors and "float" in errors
    assert '"required" must list fields that exist' in errors
    shortage.refresh_from_db()
    assert shortage.form_schema == before


def test_a_type_change_is_saved_with_its_history(as_manager, manager, shortage):
    schema = '{"properties": {"material": {"type": "string", "title": "Material"}}}'

    response = as_manager.post(
        _url(ExceptionType, "change", shortage.pk),
        _type_data(shortage, name="Shortage of material", form_schema=schema),
    )

    shortage.refresh_from_db()
    assert response.status_code == 302
    assert shortage.name == "Shortage of material"
    assert shortage.form_schema["properties"]["material"]["title"] == "Material"
    assert shortage.history.order_by("-history_id").first().history_user == manager


# --- workflows -----------------------------------------------------------------------------


@pytest.fixture
def small_workflow():
    workflow = Workflow.objects.create(code="short", name="Short", initial_state="open")
    opened = WorkflowState.objects.create(workflow=workflow, code="open", name="Open", phase="open")
    done = WorkflowState.objects.create(
        workflow=workflow, code="done", name="Done", phase="resolved"
    )
    return workflow, opened, done


def _workflow_data(workflow, states, transitions=()):
    data = {
        "code": workflow.code,
        "name": workflow.name,
        "initial_state": workflow.initial_state,
        **_management("states", total=len(states), initial=len(states)),
        **_management("transitions", total=len(transitions)),
    }
    for i, state in enumerate(states):
        data.update(
            {
                f"states-{i}-id": str(state.pk),
                f"states-{i}-workflow": str(workflow.pk),
                f"states-{i}-code": state.code,
                f"states-{i}-name": state.name,
                f"states-{i}-phase": state.phase,
            }
        )
    for i, (src, dst, roles) in enumerate(transitions):
        data.update(
            {
                f"transitions-{i}-workflow": str(workflow.pk),
                f"transitions-{i}-from_state": str(src.pk) if src else "",
                f"transitions-{i}-to_state": str(dst.pk),
                f"transitions-{i}-label": "Go",
                f"transitions-{i}-roles": [str(g.pk) for g in roles],
            }
        )
    return data


def test_a_transition_with_roles_is_added_inline(as_manager, manager, small_workflow):
    workflow, opened, done = small_workflow
    quality = Group.objects.get(name="quality")

    response = as_manager.post(
        _url(Workflow, "change", workflow.pk),
        _workflow_data(workflow, [opened, done], [(opened, done, [quality])]),
    )

    assert response.status_code == 302
    transition = WorkflowTransition.objects.get(workflow=workflow)
    assert (transition.from_state, transition.to_state) == (opened, done)
    assert list(transition.roles.all()) == [quality]
    assert transition.history.first().history_user == manager


def test_a_state_of_another_workflow_is_refused(as_manager, small_workflow):
    workflow, opened, _done = small_workflow
    foreign = WorkflowState.objects.filter(workflow__code="default", code="resolved").get()

    response = as_manager.post(
        _url(Workflow, "change", workflow.pk),
        _workflow_data(workflow, [opened, _done], [(opened, foreign, [])]),
    )

    assert response.status_code == 200
    transition_errors = response.context["inline_admin_formsets"][1].formset.errors
    assert "to_state" in transition_errors[0]
    assert not WorkflowTransition.objects.filter(workflow=workflow).exists()


def test_the_transition_model_refuses_a_foreign_state():
    default, other = Workflow.objects.get(code="default"), Workflow.objects.create(code="x")
    state = WorkflowState.objects.create(workflow=other, code="open", name="Open")
    transition = WorkflowTransition(
        workflow=default, to_state=state, from_state=default.states.first()
    )

    with pytest.raises(ValidationError, match="another workflow"):
        transition.full_clean()


def test_removing_the_initial_state_is_refused(as_manager, small_workflow):
    workflow, opened, done = small_workflow
    data = _workflow_data(workflow, [opened, done])
    data["states-0-code"] = "new"

    response = as_manager.post(_url(Workflow, "change", workflow.pk), data)

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.non_form_errors()
    assert "initial state" in " ".join(errors)
    opened.refresh_from_db()
    assert opened.code == "open"


# --- routing rules -------------------------------------------------------------------------


def test_a_valid_rule_is_added_with_its_history(as_manager, manager):
    response = as_manager.post(_url(RoutingRule, "add"), _rule_data())

    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="Big shortages are critical")
    assert rule.categories == ["shortage"]
    assert rule.actions == [{"action": "set_severity", "severity": "critical"}]
    assert rule.history.first().history_user == manager


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"actions": '[{"action": "launch_rocket"}]'}, "actions", "choose one of"),
        ({"actions": '[{"action": "assign_role", "role": "pilot"}]'}, "actions", "not a role"),
        ({"actions": '[{"action": "assign_role"}]'}, "actions", "needs role"),
        (
            {"field_conditions": '[{"field": "qty", "op": "roughly", "value": 1}]'},
            "field_conditions",
            "Condition 1",
        ),
        ({"field_conditions": '[{"op": "equals", "value": 1}]'}, "field_conditions", "field"),
        ({"actions": "[{not json"}, "actions", "valid JSON"),
    ],
)
def test_an_invalid_rule_is_refused_on_its_field(as_manager, changes, field, expected):
    response = as_manager.post(_url(RoutingRule, "add"), _rule_data(**changes))

    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors[field])
    assert expected in errors
    assert not RoutingRule.objects.filter(name="Big shortages are critical").exists()


def test_rule_form_lists_the_registered_actions_and_operators(as_manager):
    form = as_manager.get(_url(RoutingRule, "add")).context["adminform"].form

    help_text = form.fields["actions"].help_text  # HTML: the JSON quotes are escaped
    assert "&quot;action&quot;: &quot;hold_work_order&quot;" in help_text
    assert "&quot;role&quot;: &lt;a role&gt;" in help_text
    assert "greater" in form.fields["field_conditions"].help_text


def test_order_and_active_are_editable_in_the_list(as_manager):
    rule = RoutingRule.objects.get(order=30, trigger="raised")
    rules = list(RoutingRule.objects.order_by("trigger", "order", "pk"))
    data = {"_save": "Save", **_management("form", total=len(rules), initial=len(rules))}
    for i, r in enumerate(rules):
        data[f"form-{i}-id"] = str(r.pk)
        data[f"form-{i}-order"] = "35" if r.pk == rule.pk else str(r.order)
        if r.is_active and r.pk != rule.pk:
            data[f"form-{i}-is_active"] = "on"

    response = as_manager.post(_url(RoutingRule, "changelist"), data)

    rule.refresh_from_db()
    assert response.status_code == 302
    assert (rule.order, rule.is_active) == (35, False)


def test_the_workflow_history_shows_who_may_make_a_move_changing(as_manager, small_workflow):
    """An auditor sees that the supervisor was allowed a move, and then was not."""
    workflow, opened, done = small_workflow
    supervisor, quality = Group.objects.get(name="supervisor"), Group.objects.get(name="quality")
    url = _url(Workflow, "change", workflow.pk)
    data = _workflow_data(workflow, [opened, done], [(opened, done, [quality, supervisor])])
    assert as_manager.post(url, data).status_code == 302
    move = WorkflowTransition.objects.get(workflow=workflow)
    data = _workflow_data(workflow, [opened, done])
    data.update(
        {
            **_management("transitions", total=1, initial=1),
            "transitions-0-id": str(move.pk),
            "transitions-0-workflow": str(workflow.pk),
            "transitions-0-from_state": str(opened.pk),
            "transitions-0-to_state": str(done.pk),
            "transitions-0-label": "Go",
            "transitions-0-roles": [str(quality.pk)],
            "change_reason": "supervisors no longer close",
        }
    )
    assert as_manager.post(url, data).status_code == 302

    rows = list(workflow.history.order_by("-history_id")[:2])
    assert '- open → done "Go": quality, supervisor' in rows[1].definition
    assert '- open → done "Go": quality' in rows[0].definition
    assert "supervisor" not in rows[0].definition.split("Moves:")[1]
    delta = rows[0].diff_against(rows[1])
    assert delta.changed_fields == ["definition"]
    assert rows[0].history_change_reason == "supervisors no longer close"
    html = as_manager.get(_url(Workflow, "history", workflow.pk)).content.decode()
    assert "<strong>States and moves:</strong>" in html and "quality, supervisor" in html


def test_a_type_is_reverted_from_its_history_through_the_service(as_manager, manager, shortage):
    url = _url(ExceptionType, "change", shortage.pk)
    schema = json.dumps(shortage.form_schema)
    for name in ("Shortage (renamed)", "Shortage v3"):
        data = _type_data(shortage, name=name, form_schema=schema)
        assert as_manager.post(url, data).status_code == 302
    renamed = shortage.history.get(name="Shortage (renamed)")

    page = as_manager.get(_url(ExceptionType, "history", shortage.pk) + f"{renamed.history_id}/")
    assert "Load this version into the change form" in page.content.decode()
    loaded = as_manager.get(url + f"?from_history={renamed.history_id}")
    assert loaded.context["adminform"].form.initial["name"] == "Shortage (renamed)"
    assert "Check it, say why in the reason, and save to revert" in loaded.content.decode()
    shortage.refresh_from_db()
    assert shortage.name == "Shortage v3"  # loading saves nothing

    data = _type_data(shortage, name="Shortage (renamed)", form_schema=schema)
    assert (
        as_manager.post(url, {**data, "change_reason": "back to the earlier name"}).status_code
        == 302
    )
    shortage.refresh_from_db()
    assert shortage.name == "Shortage (renamed)"
    latest = shortage.history.order_by("-history_id").first()
    assert (latest.history_change_reason, latest.history_user) == (
        "back to the earlier name",
        manager,
    )
