"""The rule builder's server side: conditions checked against the forms of the types a rule can
match, the vocabulary the rows offer (scoped to the manager), the catch-all that applies only to
unrouted exceptions, and a dry run that says which field condition failed and why."""

import json

import pytest

from exceptions import rule_registry, services
from exceptions.admin.dry_run import dry_run_rows
from exceptions.admin.rule_builder import vocabulary
from exceptions.models import ExceptionTicket, ExceptionType, RoutingRule
from exceptions.schema import canonical_schema
from tests.exceptions.admin_common import _rule_data, _url
from tests.factories import make_user

pytestmark = pytest.mark.django_db

FORKLIFT = {
    "properties": {
        "damage": {"type": "string", "title": "Damage", "enum": ["Fork", "Mast"]},
        "parts": {
            "type": "array",
            "items": {"type": "string", "enum": ["fork", "chain"]},
            "uniqueItems": True,
        },
        "load_kg": {"type": "number", "title": "Load"},
        "photo_taken": {"type": "boolean", "title": "Photo taken"},
        "notes": {"type": "string", "title": "Notes"},
    }
}


@pytest.fixture
def forklift(db):
    safety = ExceptionType.objects.get(code="safety")
    workflow = safety.workflow
    return ExceptionType.objects.create(
        code="forklift_damage",
        name="Forklift damage",
        category="other",
        workflow=workflow,
        form_schema=canonical_schema(FORKLIFT),
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "photo_taken", "op": "equals", "value": "no"}, "true or false"),
        ({"field": "photo_taken", "op": "greater", "value": 1}, "can be compared with"),
        ({"field": "damage", "op": "equals", "value": "Wheel"}, 'one of: "Fork", "Mast"'),
        ({"field": "damage", "op": "in", "value": ["Fork", "Tyre"]}, "a list of"),
        ({"field": "damage", "op": "greater", "value": 1}, "can be compared with"),
        ({"field": "parts", "op": "equals", "value": ["fork"]}, "can be compared with"),
        ({"field": "parts", "op": "contains", "value": "wheel"}, "one of"),
        ({"field": "load_kg", "op": "greater", "value": "heavy"}, "a number"),
        ({"field": "notes", "op": "contains", "value": 3}, "text"),
        ({"field": "forklift_no", "op": "equals", "value": "x"}, "has a field forklift_no"),
    ],
)
def test_a_condition_that_can_never_hold_is_named(forklift, condition, expected):
    problems = rule_registry.condition_problems([condition], [forklift])
    assert len(problems) == 1 and expected in problems[0], problems
    assert problems[0].startswith("Condition 1:")


@pytest.mark.parametrize(
    "condition",
    [
        {"field": "photo_taken", "op": "equals", "value": False},
        {"field": "damage", "op": "in", "value": ["Fork", "Mast"]},
        {"field": "parts", "op": "contains", "value": "chain"},
        {"field": "load_kg", "op": "less", "value": 2.5},
        {"field": "notes", "op": "contains", "value": "fork"},
    ],
)
def test_a_condition_that_fits_the_field_passes(forklift, condition):
    assert rule_registry.condition_problems([condition], [forklift]) == []


def test_the_rule_page_refuses_photo_taken_equals_no(as_manager, forklift):
    data = _rule_data(
        categories=[],
        types=[str(forklift.pk)],
        field_conditions=json.dumps([{"field": "photo_taken", "op": "equals", "value": "no"}]),
    )
    response = as_manager.post(_url(RoutingRule, "add"), data)
    assert response.status_code == 200
    errors = " ".join(response.context["adminform"].form.errors["field_conditions"])
    assert "Photo taken of Forklift damage holds true or false" in errors
    assert not RoutingRule.objects.filter(name=data["name"]).exists()

    data["field_conditions"] = json.dumps(
        [{"field": "photo_taken", "op": "equals", "value": False}]
    )
    assert as_manager.post(_url(RoutingRule, "add"), data).status_code == 302


def test_without_types_the_rule_is_checked_against_its_categories(as_manager, forklift):
    data = _rule_data(  # shortage category: material_shortage has no photo_taken
        field_conditions=json.dumps([{"field": "photo_taken", "op": "equals", "value": True}])
    )
    response = as_manager.post(_url(RoutingRule, "add"), data)
    errors = " ".join(response.context["adminform"].form.errors["field_conditions"])
    assert "no exception type this rule matches has a field photo_taken" in errors
    data["categories"] = ["other"]
    assert as_manager.post(_url(RoutingRule, "add"), data).status_code == 302


def test_the_rows_offer_the_fields_operators_actions_and_only_the_managers_accounts(
    as_manager, manager, p1, p2, forklift
):
    make_user("fitter_p1", "maintenance", [p1])
    make_user("fitter_p2", "maintenance", [p2])
    words = vocabulary(manager)
    fields = {f["name"]: f for t in words["types"] if t["id"] == forklift.pk for f in t["fields"]}
    assert fields["damage"]["kind"] == "choice" and fields["damage"]["options"] == ["Fork", "Mast"]
    assert words["operators"]["boolean"] == ["equals", "not_equals"]
    assert words["operators"]["multi-choice"] == ["contains"]
    assert {"name": "role", "kind": "role", "required": True} in next(
        a["params"] for a in words["actions"] if a["name"] == "assign_role"
    )
    assert "fitter_p1" in words["users"] and "fitter_p2" not in words["users"]
    html = as_manager.get(_url(RoutingRule, "add")).content.decode()
    assert 'class="form-builder rule-builder"' in html and "rule_builder.js" in html
    assert "fitter_p1" in html and "fitter_p2" not in html


def test_the_catch_all_no_longer_undoes_a_more_specific_rule(p1, forklift, relay):
    specific = RoutingRule.objects.create(
        name="Forklifts go to maintenance",
        order=15,
        actions=[{"action": "assign_role", "role": "maintenance"}],
    )
    specific.types.set([forklift])
    catch_all = RoutingRule.objects.get(name="Unrouted exceptions go to the supervisor")
    assert catch_all.when_unrouted and catch_all.categories == ["data_drift", "other"]

    ticket = services.raise_exception(
        actor=None, exception_type=forklift, site=p1, data={"damage": "Mast"}
    )
    relay()
    assert ExceptionTicket.objects.get(pk=ticket.pk).queue.name == "maintenance"
    unrouted = services.raise_exception(
        actor=None,
        exception_type=ExceptionType.objects.create(
            code="misc", name="Misc", category="other", workflow=forklift.workflow
        ),
        site=p1,
    )
    relay()
    assert ExceptionTicket.objects.get(pk=unrouted.pk).queue.name == "supervisor"


def test_the_dry_run_says_which_field_condition_failed_and_what_the_ticket_has(p1, forklift):
    rule = RoutingRule.objects.create(
        name="Masts are urgent",
        order=5,
        field_conditions=[
            {"field": "damage", "op": "equals", "value": "Mast"},
            {"field": "photo_taken", "op": "equals", "value": True},
        ],
        actions=[{"action": "set_severity", "severity": "high"}],
    )
    ticket = services.raise_exception(
        actor=None, exception_type=forklift, site=p1, data={"damage": "Fork"}
    )
    row = next(r for r in dry_run_rows(ticket, "raised") if r.rule == rule)
    assert row.failed == [
        'damage equals "Mast" (the exception has "Fork")',
        "photo_taken equals true (the exception has no photo_taken)",
    ]


def test_the_dry_run_shows_the_net_outcome_of_all_rules_and_keeps_nothing(as_manager, p1, forklift):
    from django.urls import reverse

    from mes.models import OutboxEvent
    from tests.exceptions.admin_common import DRY_RUN, _row_counts

    specific = RoutingRule.objects.create(
        name="Masts to maintenance, high",
        order=15,
        field_conditions=[{"field": "damage", "op": "equals", "value": "Mast"}],
        actions=[
            {"action": "assign_role", "role": "maintenance"},
            {"action": "set_severity", "severity": "high"},
            {"action": "notify_roles", "roles": ["manager"]},
        ],
    )
    specific.types.set([forklift])
    before, events = _row_counts(), OutboxEvent.objects.count()
    sample = {
        "trigger": "raised",
        "type": forklift.pk,
        "site": p1.pk,
        "data": json.dumps({"damage": "Mast"}),
    }
    response = as_manager.get(reverse(DRY_RUN), sample)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="net-queue">maintenance<' in html  # not the catch-all's supervisor
    assert 'id="net-severity">High<' in html
    assert 'id="net-notified">maintenance, manager<' in html
    assert _row_counts() == before and OutboxEvent.objects.count() == events

    sample["data"] = json.dumps({"damage": "Wheel"})
    html = as_manager.get(reverse(DRY_RUN), sample).content.decode()
    assert "raising it would be refused" in html
    assert _row_counts() == before


def test_the_rule_page_tries_the_rule_as_edited_and_keeps_nothing(as_manager, p1, forklift):
    from django.urls import reverse

    from tests.exceptions.admin_common import _row_counts

    page = as_manager.get(_url(RoutingRule, "add")).content.decode()
    assert "Try it: this rule as edited" in page and "rule_try.js" in page
    edited = _rule_data(
        name="Masts to maintenance",
        order="15",
        categories=[],
        types=[str(forklift.pk)],
        field_conditions=json.dumps([{"field": "damage", "op": "equals", "value": "Mast"}]),
        actions=json.dumps([{"action": "assign_role", "role": "maintenance"}]),
    )
    sample = {
        "try-type": str(forklift.pk),
        "try-site": str(p1.pk),
        "try-data": '{"damage": "Mast"}',
    }
    before = _row_counts()

    answer = as_manager.post(reverse("admin:exceptions_routingrule_try"), {**edited, **sample})

    html = answer.content.decode()
    assert answer.status_code == 200, html
    assert "<strong>Masts to maintenance</strong> (as edited)" in html
    assert 'id="net-queue">maintenance<' in html
    assert _row_counts() == before
    assert not RoutingRule.objects.filter(name="Masts to maintenance").exists()

    bad = {
        **edited,
        "field_conditions": json.dumps([{"field": "damage", "op": "equals", "value": "Wheel"}]),
    }
    refused = as_manager.post(reverse("admin:exceptions_routingrule_try"), {**bad, **sample})
    assert refused.status_code == 400 and "never" in refused.content.decode()


def test_who_may_only_read_rules_cannot_try_edits(client, p1, user_in, forklift):
    from django.urls import reverse

    client.force_login(user_in("auditor", p1, is_staff=True))
    answer = client.post(reverse("admin:exceptions_routingrule_try"), _rule_data())
    assert answer.status_code == 403


# --- what the hostile review found ------------------------------------------------------------


def test_the_dry_run_shows_none_of_another_sites_rules(as_manager, p1, p2, forklift):
    from django.urls import reverse

    from tests.exceptions.admin_common import DRY_RUN

    theirs = RoutingRule.objects.create(
        name="P2 secret rule",
        order=3,
        field_conditions=[{"field": "damage", "op": "equals", "value": "P2-SECRET"}],
        actions=[{"action": "set_severity", "severity": "low"}],
    )
    theirs.sites.set([p2])
    sample = {"trigger": "raised", "type": forklift.pk, "site": p1.pk, "data": "{}"}
    html = as_manager.get(reverse(DRY_RUN), sample).content.decode()
    assert "Unrouted exceptions go to the supervisor" in html
    assert "P2 secret rule" not in html and "P2-SECRET" not in html


def test_who_may_only_read_rules_gets_the_matches_but_runs_nothing(client, p1, user_in, forklift):
    from django.urls import reverse

    from tests.exceptions.admin_common import DRY_RUN

    client.force_login(user_in("auditor", p1, is_staff=True))
    sample = {"trigger": "raised", "type": forklift.pk, "site": p1.pk, "data": "{}"}
    response = client.get(reverse(DRY_RUN), sample)
    html = response.content.decode()
    assert response.status_code == 200, html[:300]
    assert "Unrouted exceptions go to the supervisor" in html and 'id="net-outcome"' not in html


def test_trying_a_rule_never_tells_whether_another_sites_account_exists(
    as_manager, p1, p2, forklift, user_in
):
    from django.urls import reverse

    user_in("supervisor", p2)  # supervisor_1, of P2 only
    answers = []
    for username in ("supervisor_1", "no_such_user"):
        edited = _rule_data(
            name="Try",
            categories=[],
            types=[str(forklift.pk)],
            field_conditions="[]",
            actions=json.dumps([{"action": "assign_user", "username": username}]),
        )
        sample = {"try-type": str(forklift.pk), "try-site": str(p1.pk), "try-data": "{}"}
        answer = as_manager.post(reverse("admin:exceptions_routingrule_try"), {**edited, **sample})
        assert answer.status_code == 400
        answers.append(answer.content.decode().replace(username, "NAME"))
    assert answers[0] == answers[1]


def test_a_huge_or_odd_form_is_refused_quickly(as_manager):
    from django.urls import reverse

    from exceptions.schema import schema_problems

    many = {"properties": {f"f{i}": {"type": "string"} for i in range(3000)}}
    assert schema_problems(many) == ["A form has at most 100 fields."]  # before any per-field work
    odd = {
        "properties": {
            "a": {"type": "string", "enum": "x"},
            "b": {"type": "string", "x-show-if": {"field": "a", "equals": "x"}},
        }
    }
    assert "enum must be a non-empty list" in " ".join(schema_problems(odd))
    answer = as_manager.post(
        reverse("admin:exceptions_workflow_diagram"),
        json.dumps({"states": 3, "moves": {"a": 1}}),
        content_type="application/json",
    )
    assert answer.status_code == 200
