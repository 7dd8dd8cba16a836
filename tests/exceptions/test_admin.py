"""The admin of the exception tickets: low-code configuration with validation and history,
the routing dry run, read-only scoped tickets with service-backed actions, auditors."""

import pytest
from django.apps import apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exceptions import services
from exceptions.models import (
    ExceptionTicket,
    ExceptionType,
    RoutingRule,
    Workflow,
    WorkflowState,
    WorkflowTransition,
)
from mes.access import grant_site_access
from mes.models import OutboxEvent
from tests.factories import SiteFactory, WorkCenterFactory, make_work_order

pytestmark = pytest.mark.django_db


def _url(model, view, *args):
    return reverse(f"admin:exceptions_{model._meta.model_name}_{view}", args=args)


DRY_RUN = "admin:exceptions_routingrule_dry_run"


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _management(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


@pytest.fixture
def manager(p1, user_in):
    return user_in("manager", p1, is_staff=True)


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def raise_at():
    def make(site, exception_type, **kwargs):
        kwargs.setdefault("data", {"material": "RM-1", "qty_missing": 5})
        return services.raise_exception(
            actor=None, exception_type=exception_type, site=site, **kwargs
        )

    return make


def _type_data(t: ExceptionType, **changes):
    data = {
        "code": t.code,
        "name": t.name,
        "category": t.category,
        "description": t.description,
        "is_active": "on" if t.is_active else "",
        "default_severity": t.default_severity,
        "workflow": str(t.workflow_id),
        "icon": t.icon,
        "colour": t.colour,
        "sort_order": str(t.sort_order),
        "form_schema": '{"properties": {}}',
    }
    data.update(changes)
    return data


def _rule_data(**changes):
    data = {
        "name": "Big shortages are critical",
        "trigger": "raised",
        "order": "15",
        "is_active": "on",
        "categories": ["shortage"],
        "field_conditions": '[{"field": "qty_missing", "op": "greater", "value": 100}]',
        "actions": '[{"action": "set_severity", "severity": "critical"}]',
    }
    data.update(changes)
    return data


def _row_counts() -> dict[str, int]:
    """Rows of every table of the apps a rule could touch (tickets, timeline, outbox, history)."""
    return {
        model._meta.label: model._default_manager.count()
        for app in ("exceptions", "mes", "auth")
        for model in apps.get_app_config(app).get_models()
    }


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
        model = type(record)
        changelist = as_manager.get(_url(model, "changelist"))
        change = as_manager.get(_url(model, "change", record.pk))
        history = as_manager.get(_url(model, "history", record.pk))

        assert changelist.status_code == 200, model
        assert change.status_code == 200, model
        assert history.status_code == 200, model
        assert str(record) in change.content.decode()
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


def test_a_manager_keeps_the_sites_of_a_rule_they_cannot_see(as_manager, p1, p2):
    rule = RoutingRule.objects.get(order=20, trigger="raised")
    rule.sites.set([p1, p2])

    form = as_manager.get(_url(RoutingRule, "change", rule.pk)).context["adminform"].form
    response = as_manager.post(
        _url(RoutingRule, "change", rule.pk),
        _rule_data(name=rule.name, sites=[str(p1.pk)], actions='[{"action": "mark_for_erp"}]'),
    )

    assert list(form.fields["sites"].queryset) == [p1]
    assert response.status_code == 302
    assert set(rule.sites.all()) == {p1, p2}


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


# --- dry run -------------------------------------------------------------------------------


def _dry_run(client, **params):
    response = client.get(reverse(DRY_RUN), {"trigger": "raised", **params})
    assert response.status_code == 200
    return response


def _matched(response) -> set[str]:
    return {row.rule.name for row in response.context["rows"] if row.matched}


def test_dry_run_of_a_sample_shortage_shows_the_shortage_rules_and_writes_nothing(
    as_manager, p1, shortage
):
    wc = WorkCenterFactory(site=p1)
    before = _row_counts()

    response = _dry_run(
        as_manager,
        type=shortage.pk,
        site=p1.pk,
        work_center=wc.pk,
        data='{"material": "RM-1", "qty_missing": 5}',
    )

    assert _row_counts() == before
    assert _matched(response) == {"Shortages go to procurement", "A shortage holds its work order"}
    rows = {row.rule.name: row for row in response.context["rows"]}
    assert [label for label, _entry in rows["A shortage holds its work order"].actions] == [
        "Put the work order on hold"
    ]
    assert "categories" in rows["Breakdowns go to maintenance"].failed
    assert "Put the work order on hold" in response.content.decode()


def test_dry_run_of_a_breakdown_does_not_match_the_shortage_rules(as_manager, p1, breakdown):
    before = _row_counts()

    response = _dry_run(
        as_manager, type=breakdown.pk, site=p1.pk, data='{"symptom": "alarm"}', severity="low"
    )

    assert _row_counts() == before
    assert _matched(response) == {"Breakdowns go to maintenance"}
    assert response.context["subject"].severity == "low"


def test_dry_run_stops_after_a_stopping_rule_and_evaluates_field_conditions(
    as_manager, p1, shortage
):
    RoutingRule.objects.create(
        name="Huge shortage: planner only",
        order=15,
        stop_processing=True,
        field_conditions=[{"field": "qty_missing", "op": "greater", "value": 100}],
        actions=[{"action": "assign_role", "role": "planner"}],
    )

    small = _dry_run(
        as_manager, type=shortage.pk, site=p1.pk, data='{"material": "X", "qty_missing": 5}'
    )
    huge = _dry_run(
        as_manager, type=shortage.pk, site=p1.pk, data='{"material": "X", "qty_missing": 500}'
    )

    assert "Huge shortage: planner only" not in _matched(small)
    assert _matched(huge) == {"Huge shortage: planner only"}
    assert all(row.skipped for row in huge.context["rows"] if row.rule.order > 15)


def test_dry_run_of_an_existing_exception_and_of_another_sites(
    as_manager, p1, p2, shortage, raise_at
):
    mine = raise_at(p1, shortage)
    theirs = raise_at(p2, shortage)
    before = _row_counts()

    response = _dry_run(as_manager, ticket=mine.number)
    refused = _dry_run(as_manager, ticket=theirs.number)

    assert _row_counts() == before
    assert response.context["subject"] == mine
    assert "Shortages go to procurement" in _matched(response)
    assert refused.context["rows"] is None
    assert "ticket" in refused.context["form"].errors


def test_dry_run_sample_needs_a_type_and_a_visible_site(as_manager, p2, shortage):
    response = _dry_run(as_manager, type=shortage.pk, site=p2.pk)

    assert response.context["rows"] is None
    assert "site" in response.context["form"].errors


# --- tickets -------------------------------------------------------------------------------


def test_ticket_page_is_read_only_with_its_timeline(as_manager, p1, shortage, raise_at, relay):
    ticket = raise_at(p1, shortage, work_order=make_work_order(p1, status="in_progress"))
    relay()

    response = as_manager.get(_url(ExceptionTicket, "change", ticket.pk))
    post = as_manager.post(_url(ExceptionTicket, "change", ticket.pk), {"severity": "low"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="_save"' not in html
    assert "Shortages go to procurement" in html  # the timeline names the rule
    assert "Work order held" in html
    timeline = response.context["inline_admin_formsets"][0]
    assert not timeline.has_add_permission and not timeline.has_change_permission
    assert post.status_code == 403
    assert as_manager.get(_url(ExceptionTicket, "add")).status_code == 403


def test_manager_of_p1_does_not_see_p2_tickets(as_manager, manager, p1, p2, shortage, raise_at):
    p3 = SiteFactory(code="P3")
    grant_site_access(manager, p3)
    also_mine = raise_at(p3, shortage)
    mine = raise_at(p1, shortage)
    theirs = raise_at(p2, shortage)

    changelist = as_manager.get(_url(ExceptionTicket, "changelist"))
    change = as_manager.get(_url(ExceptionTicket, "change", theirs.pk))
    history = as_manager.get(_url(ExceptionTicket, "history", theirs.pk))
    search = as_manager.get(_url(ExceptionTicket, "changelist"), {"q": theirs.number})

    assert {t.pk for t in changelist.context["cl"].result_list} == {mine.pk, also_mine.pk}
    assert change.status_code == 302
    assert history.status_code == 404
    assert list(search.context["cl"].result_list) == []
    site_filter = next(
        f for f in changelist.context["cl"].filter_specs if getattr(f, "field_path", "") == "site"
    )
    assert {pk for pk, _label in site_filter.lookup_choices} == {p1.pk, p3.pk}


def test_tickets_filter_on_category_and_search_by_work_order(
    as_manager, p1, shortage, breakdown, raise_at
):
    wo = make_work_order(p1, status="in_progress")
    short = raise_at(p1, shortage, work_order=wo)
    broken = raise_at(p1, breakdown, data={"symptom": "leak"})

    by_category = as_manager.get(
        _url(ExceptionTicket, "changelist"), {"type__category": "downtime"}
    )
    by_order = as_manager.get(_url(ExceptionTicket, "changelist"), {"q": wo.erp_number})

    assert list(by_category.context["cl"].result_list) == [broken]
    assert list(by_order.context["cl"].result_list) == [short]


def _action(client, action, tickets, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [t.pk for t in tickets], **extra}
    return client.post(_url(ExceptionTicket, "changelist"), data)


def test_acknowledge_goes_through_the_workflow_service_and_reports_each_refusal(
    as_manager, manager, p1, p2, shortage, raise_at
):
    fresh = raise_at(p1, shortage)
    cancelled = services.transition_exception(
        raise_at(p1, shortage), actor=None, to="cancelled", reason="duplicate"
    )
    theirs = raise_at(p2, shortage)

    response = _action(as_manager, "acknowledge", [fresh, cancelled, theirs])

    for ticket in (fresh, cancelled, theirs):
        ticket.refresh_from_db()
    assert fresh.status == "acknowledged"
    assert fresh.history.order_by("-history_id").first().history_user == manager
    assert fresh.events.filter(kind="acknowledged", actor=manager).exists()
    assert OutboxEvent.objects.filter(
        type="exception.status_changed", aggregate_id=str(fresh.pk), actor=manager
    ).exists()
    assert cancelled.status == "cancelled"
    assert theirs.status == "open"  # another site's id is simply not in the queryset
    messages = _messages(response)
    assert "1 exception acknowledged." in messages
    assert any(m.startswith(f"{cancelled.number}: ") for m in messages)


def test_cancel_asks_for_a_reason_then_cancels(as_manager, p1, shortage, raise_at):
    ticket = raise_at(p1, shortage)

    asked = _action(as_manager, "cancel", [ticket], index="0")
    ticket.refresh_from_db()
    status_after_asking = ticket.status
    done = _action(as_manager, "cancel", [ticket], post="yes", reason="Raised twice")

    ticket.refresh_from_db()
    assert asked.status_code == 200
    assert "reason" in asked.context["form"].fields
    assert status_after_asking == "open"
    assert done.status_code == 302
    assert ticket.status == "cancelled"
    assert ticket.events.filter(kind="status_changed", message="Raised twice").exists()


# --- auditors ------------------------------------------------------------------------------


def test_auditor_reads_everything_and_changes_nothing(client, user_in, p1, p2, shortage, raise_at):
    auditor = user_in("auditor", is_staff=True)
    client.force_login(auditor)
    at_p1, at_p2 = raise_at(p1, shortage), raise_at(p2, shortage)
    rule = RoutingRule.objects.get(order=20, trigger="raised")
    workflow = shortage.workflow

    pages = [
        client.get(_url(model, view, *args))
        for model, view, args in [
            (ExceptionTicket, "changelist", ()),
            (ExceptionTicket, "change", (at_p2.pk,)),
            (ExceptionType, "change", (shortage.pk,)),
            (Workflow, "change", (workflow.pk,)),
            (RoutingRule, "change", (rule.pk,)),
            (RoutingRule, "history", (rule.pk,)),
        ]
    ]
    posts = [
        client.post(_url(ExceptionType, "change", shortage.pk), _type_data(shortage, name="X")),
        client.post(_url(RoutingRule, "change", rule.pk), _rule_data(name="X")),
        client.post(_url(RoutingRule, "add"), _rule_data()),
        client.post(_url(Workflow, "change", workflow.pk), {"code": "x", "name": "X"}),
        client.post(_url(ExceptionTicket, "change", at_p1.pk), {"severity": "low"}),
    ]
    acknowledge = _action(client, "acknowledge", [at_p1, at_p2])
    dry_run = _dry_run(client, type=shortage.pk, site=p2.pk, data='{"material": "X"}')

    assert all(page.status_code == 200 for page in pages), [p.status_code for p in pages]
    assert {at_p1.pk, at_p2.pk} <= {t.pk for t in pages[0].context["cl"].result_list}
    assert pages[0].context["action_form"] is None
    assert all('name="_save"' not in page.content.decode() for page in pages[1:5])
    assert [post.status_code for post in posts] == [403] * len(posts)
    shortage.refresh_from_db()
    rule.refresh_from_db()
    at_p1.refresh_from_db()
    assert shortage.name == "Material shortage"
    assert rule.name == "Shortages go to procurement"
    assert at_p1.status == "open"
    assert acknowledge.status_code == 200  # no actions offered: the POST just shows the list
    assert "Shortages go to procurement" in _matched(dry_run)
