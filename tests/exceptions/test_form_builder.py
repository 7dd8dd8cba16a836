"""The form builder's server side: the field types it offers, show-if, units and decimals in the
schema, the floor form and the API that enforce them, and the live preview endpoint."""

import json

import pytest
from django.urls import reverse

from exceptions.fields import field_type_of
from exceptions.forms import SchemaForm
from exceptions.models import ExceptionTicket, ExceptionType
from exceptions.schema import canonical_schema, schema_problems, validate_data
from mes.models import OutboxEvent
from tests.exceptions.admin_common import _type_data, _url
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PREVIEW = "admin:exceptions_exceptiontype_preview"
FORKLIFT = {
    "properties": {
        "forklift_no": {"type": "string", "title": "Forklift number", "maxLength": 20},
        "damage": {"type": "string", "title": "Damage", "enum": ["Fork", "Mast", "Tyre"]},
        "parts": {
            "type": "array",
            "title": "Parts to order",
            "items": {"type": "string", "enum": ["fork", "chain", "tyre"]},
            "uniqueItems": True,
        },
        "load_kg": {"type": "number", "title": "Load", "x-unit": "kg", "x-decimals": 1},
        "notes": {"type": "string", "title": "Notes", "x-widget": "textarea"},
        "photo_taken": {"type": "boolean", "title": "Photo taken"},
        "photo_ref": {
            "type": "string",
            "title": "Photo reference",
            "x-show-if": {"field": "photo_taken", "equals": True},
        },
    },
    "required": ["photo_ref", "forklift_no"],
}


def test_each_builder_type_is_found_from_its_schema():
    kinds = {name: field_type_of(spec) for name, spec in FORKLIFT["properties"].items()}
    assert kinds == {
        "forklift_no": "string",
        "damage": "choice",
        "parts": "multi-choice",
        "load_kg": "number",
        "notes": "text",
        "photo_taken": "boolean",
        "photo_ref": "string",
    }
    assert schema_problems(FORKLIFT) == []


def test_the_stored_form_is_canonical_however_it_was_typed():
    stored = canonical_schema(FORKLIFT)
    assert stored["type"] == "object"
    assert stored["order"] == list(FORKLIFT["properties"])
    assert stored["required"] == ["forklift_no", "photo_ref"]  # in field order
    assert canonical_schema(stored) == stored
    assert "required" not in canonical_schema({"properties": {"a": {"type": "string"}}})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"x-show-if": {"field": "nope", "equals": True}}, "a field the form does not have"),
        ({"x-show-if": {"field": "later", "equals": True}}, "which must come before it"),
        ({"x-show-if": {"field": "photo_taken", "equals": "no"}}, "a value photo_taken never"),
        ({"x-show-if": {"field": "damage", "equals": "Wheel"}}, "a value damage never has"),
        ({"x-show-if": {"field": "parts", "equals": "fork"}}, "cannot decide what is shown"),
        ({"x-show-if": {"field": "photo_taken"}}, "show-if is"),
        ({"x-show-if": {"field": "x", "equals": 1}}, "does not have"),
    ],
)
def test_a_show_if_is_checked_against_the_field_it_names(spec, expected):
    schema = {
        "properties": {
            "damage": FORKLIFT["properties"]["damage"],
            "parts": FORKLIFT["properties"]["parts"],
            "photo_taken": {"type": "boolean"},
            "x": {"type": "string", **spec},
            "later": {"type": "boolean"},
        }
    }
    problems = " ".join(schema_problems(schema))
    assert expected in problems


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "string", "x-unit": "kg"}, "a unit"),
        ({"type": "number", "x-unit": ""}, "a unit"),
        ({"type": "integer", "x-decimals": 2}, "decimals"),
        ({"type": "number", "x-decimals": 9}, "decimals"),
        ({"type": "number", "x-decimals": True}, "decimals"),
        ({"type": "number", "x-widget": "textarea"}, "x-widget"),
        ({"type": "string", "x-widget": "wysiwyg"}, "x-widget"),
        ({"type": "array"}, "has type 'array'"),
        ({"type": "array", "items": {"type": "string", "enum": []}}, "several choices are"),
        ({"type": "array", "items": {"type": "integer", "enum": [1]}}, "several choices are"),
        ({"type": "array", "items": {"type": "string", "enum": ["a", "a"]}}, "must differ"),
        ({"type": "string", "enum": ["a", "a"]}, "must differ"),
        ({"type": "string", "uniqueItems": True}, "uniqueItems"),
    ],
)
def test_units_decimals_widgets_and_choices_are_checked(spec, expected):
    assert expected in " ".join(schema_problems({"properties": {"f": spec}}))


def test_a_field_shown_only_sometimes_is_required_only_when_shown():
    good = {"forklift_no": "FL-1"}
    assert validate_data(FORKLIFT, good) == {}
    assert validate_data(FORKLIFT, {**good, "photo_taken": False}) == {}
    errors = validate_data(FORKLIFT, {**good, "photo_taken": True})
    assert errors == {"photo_ref": ["Photo reference is required."]}
    assert validate_data(FORKLIFT, {**good, "photo_taken": True, "photo_ref": "IMG-1"}) == {}


def test_decimals_and_several_choices_are_enforced():
    good = {"forklift_no": "FL-1"}
    assert validate_data(FORKLIFT, {**good, "load_kg": 12.5, "parts": ["fork", "tyre"]}) == {}
    assert validate_data(FORKLIFT, {**good, "load_kg": 12.25}) == {
        "load_kg": ["Load takes at most 1 decimals."]
    }
    assert "parts" in validate_data(FORKLIFT, {**good, "parts": ["wheel"]})
    assert "parts" in validate_data(FORKLIFT, {**good, "parts": ["fork", "fork"]})
    assert "parts" in validate_data(FORKLIFT, {**good, "parts": "fork"})


def _floor_form(schema, post):
    exception_type = ExceptionType(code="fl", name="Forklift", form_schema=schema)
    return SchemaForm(exception_type, post)


def test_the_floor_form_drops_what_is_not_shown_and_requires_nothing_hidden():
    form = _floor_form(FORKLIFT, {"data-forklift_no": "FL-1", "data-photo_ref": "stale"})
    assert form.is_valid(), form.errors
    assert form.json_data() == {"forklift_no": "FL-1", "photo_taken": False}
    form = _floor_form(
        FORKLIFT,
        {
            "data-forklift_no": "FL-1",
            "data-photo_taken": "on",
            "data-photo_ref": "IMG-7",
            "data-parts": ["fork", "chain"],
            "data-load_kg": "3.5",
        },
    )
    assert form.is_valid(), form.errors
    assert form.json_data() == {
        "forklift_no": "FL-1",
        "photo_taken": True,
        "photo_ref": "IMG-7",
        "parts": ["fork", "chain"],
        "load_kg": 3.5,
    }
    html = str(form["photo_ref"].field.show_if)
    assert json.loads(html) == {"field": "data-photo_taken", "equals": True}
    assert form["load_kg"].field.unit == "kg"


def test_the_api_requires_a_shown_field_and_stores_several_choices(p1, sup_client):
    ExceptionType.objects.filter(code="safety").update(form_schema=canonical_schema(FORKLIFT))
    body = {"type": "safety", "site": "P1", "data": {"forklift_no": "FL-9", "photo_taken": True}}
    before = (ExceptionTicket.objects.count(), OutboxEvent.objects.count())

    refused = sup_client.post("/api/v1/exceptions/", body, format="json")

    assert refused.status_code == 400, refused.content
    assert "photo_ref" in json.dumps(refused.json())
    assert (ExceptionTicket.objects.count(), OutboxEvent.objects.count()) == before
    body["data"] |= {"photo_ref": "IMG-9", "parts": ["chain"]}
    created = sup_client.post("/api/v1/exceptions/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["data"]["parts"] == ["chain"]


# --- the preview endpoint --------------------------------------------------------------------


def _preview(client, payload):
    return client.post(reverse(PREVIEW), payload, content_type="application/json")


def test_the_preview_renders_the_floor_form_as_it_is_built(as_manager):
    answer = _preview(as_manager, json.dumps({"schema": FORKLIFT}))
    assert answer.status_code == 200
    body = answer.json()
    assert body["problems"] == []
    assert "Forklift number" in body["html"] and 'name="data-damage"' in body["html"]
    assert "data-show-if" in body["html"] and "(kg)" in body["html"]
    assert "show_if.js" in body["html"]


def test_the_preview_says_what_is_wrong_as_it_is_typed(as_manager):
    answer = _preview(
        as_manager, json.dumps({"schema": {"properties": {"n": {"type": "choice"}}}})
    ).json()
    assert answer["html"] == ""
    assert "Field n has type 'choice'" in answer["problems"][0]


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", '"schema"'])
def test_the_preview_refuses_what_is_not_a_schema_request(as_manager, payload):
    answer = _preview(as_manager, payload)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_json"


def test_the_preview_refuses_a_huge_body(as_manager):
    answer = _preview(as_manager, json.dumps({"schema": {"description": "x" * 250_000}}))
    assert answer.status_code == 413
    assert answer.json()["code"] == "too_large"


def test_the_preview_is_for_who_may_see_types_only(client, p1):
    client.force_login(make_user("staff_without_roles", None, [p1], is_staff=True))
    assert _preview(client, json.dumps({"schema": {}})).status_code == 403
    client.logout()
    assert _preview(client, json.dumps({"schema": {}})).status_code == 302  # to the sign-in


def test_the_preview_answers_post_only(as_manager):
    assert as_manager.get(reverse(PREVIEW)).status_code == 405


def test_a_built_form_is_saved_through_the_service_with_history(as_manager, manager):
    safety = ExceptionType.objects.get(code="safety")
    before = safety.history.count()
    response = as_manager.post(
        _url(ExceptionType, "change", safety.pk),
        _type_data(safety, form_schema=json.dumps(FORKLIFT)),
    )
    assert response.status_code == 302
    safety.refresh_from_db()
    assert safety.form_schema == canonical_schema(FORKLIFT)
    assert safety.history.count() == before + 1
    assert OutboxEvent.objects.filter(type="exception_type.changed").exists()


def test_the_type_page_carries_the_builder_and_its_types(as_manager):
    html = as_manager.get(_url(ExceptionType, "add")).content.decode()
    assert 'class="form-builder"' in html and "form_builder.js" in html
    assert "multi-choice" in html and "Several choices" in html


def test_the_type_page_summarises_everything_that_handles_it(as_manager, p1, p2):
    from exceptions.models import EscalationPolicy, RoutingRule

    safety = ExceptionType.objects.get(code="safety")
    own = EscalationPolicy.objects.create(name="Safety ladder", order=500)
    own.types.set([safety])
    stale = RoutingRule.objects.create(
        name="Spills on line 3",
        order=12,
        categories=["safety"],
        field_conditions=[{"field": "line", "op": "equals", "value": "3"}],
        actions=[{"action": "assign_role", "role": "supervisor"}],
    )
    other_site = RoutingRule.objects.create(
        name="P2 only", order=13, actions=[{"action": "assign_role", "role": "planner"}]
    )
    other_site.sites.set([p2])
    shortage_only = RoutingRule.objects.get(name="Shortages go to procurement")

    html = as_manager.get(_url(ExceptionType, "change", safety.pk)).content.decode()
    assert "Everything that handles it" in html
    assert "Default" in html and "Safety ladder" in html
    assert "Safety is critical and goes to the supervisor" in html
    assert stale.name in html and "fields this form does not have: line" in html
    assert shortage_only.name not in html  # another category
    assert other_site.name not in html  # a rule of a site the manager does not see


def test_the_builder_says_what_a_change_affects_before_it_is_saved(as_manager, p1):
    from exceptions import services
    from exceptions.models import RoutingRule

    safety = ExceptionType.objects.get(code="safety")
    ExceptionType.objects.filter(pk=safety.pk).update(form_schema=canonical_schema(FORKLIFT))
    safety.refresh_from_db()
    services.raise_exception(
        actor=None,
        exception_type=safety,
        site=p1,
        data={"forklift_no": "FL-1", "photo_taken": True, "photo_ref": "IMG-1"},
    )
    RoutingRule.objects.create(
        name="Mast damage is urgent",
        order=11,
        categories=["safety"],
        field_conditions=[{"field": "damage", "op": "equals", "value": "Mast"}],
        actions=[{"action": "set_severity", "severity": "high"}],
    )
    edited = json.loads(json.dumps(FORKLIFT))
    del edited["properties"]["photo_ref"]
    edited["required"] = ["forklift_no"]
    edited["properties"]["damage"]["enum"] = ["Fork", "Tyre"]
    url = reverse(PREVIEW) + f"?type={safety.pk}"

    impact = as_manager.post(url, {"schema": edited}, content_type="application/json").json()
    assert impact["impact"] == [
        "Removing photo_ref: 1 ticket holds a value for it (it keeps it).",
        "Rule Mast damage is urgent would no longer match: Condition 1: Damage of Safety holds "
        'one of: "Fork", "Tyre", never "Mast".',
    ]
    unchanged = as_manager.post(url, {"schema": FORKLIFT}, content_type="application/json")
    assert unchanged.json()["impact"] == []
    safety.refresh_from_db()
    assert "photo_ref" in safety.form_schema["properties"]  # nothing saved


PICKED = {
    "properties": {
        "order": {"type": "string", "title": "Order", "x-picker": "work_order"},
        "press": {"type": "string", "title": "Press", "x-picker": "machine"},
    }
}


def test_a_picker_names_a_record_of_the_tickets_site_only(p1, p2):
    from exceptions import services
    from mes.errors import InvalidInput
    from tests.factories import make_work_order

    assert field_type_of(PICKED["properties"]["order"]) == "work-order"
    assert "x-picker is work_order" in " ".join(
        schema_problems({"properties": {"x": {"type": "string", "x-picker": "pallet"}}})
    )
    mine, theirs = (
        make_work_order(p1, erp_number="WO-P1-7"),
        make_work_order(p2, erp_number="WO-P2-9"),
    )
    safety = ExceptionType.objects.get(code="safety")
    ExceptionType.objects.filter(pk=safety.pk).update(form_schema=canonical_schema(PICKED))
    safety.refresh_from_db()
    with pytest.raises(InvalidInput) as refused:
        services.raise_exception(
            actor=None, exception_type=safety, site=p1, data={"order": theirs.erp_number}
        )
    assert refused.value.fields == {"data": {"order": ["Order: no WO-P2-9 here."]}}
    ticket = services.raise_exception(
        actor=None, exception_type=safety, site=p1, data={"order": mine.erp_number}
    )
    assert ticket.data == {"order": "WO-P1-7"}

    form = SchemaForm(safety, site=p1)
    assert form["order"].field.suggestions == ["WO-P1-7"]  # never another site's
    html = str(form["order"])
    assert 'list="id_data-order-list"' in html


def test_a_field_is_labelled_in_the_floors_language():
    from django.utils import translation

    schema = {
        "properties": {
            "forklift_no": {
                "type": "string",
                "title": "Forklift number",
                "x-title-i18n": {"pl": "Numer wózka", "de": "Staplernummer"},
            }
        },
        "required": ["forklift_no"],
    }
    assert schema_problems(schema) == []
    exception_type = ExceptionType(code="fl", name="Forklift", form_schema=schema)
    with translation.override("pl"):
        assert SchemaForm(exception_type)["forklift_no"].label == "Numer wózka"
        assert "Numer wózka" in validate_data(schema, {})["forklift_no"][0]
    with translation.override("en"):
        assert SchemaForm(exception_type)["forklift_no"].label == "Forklift number"
    bad = {"properties": {"f": {"type": "string", "x-title-i18n": {"xx": "?"}}}}
    assert "labels per language" in " ".join(schema_problems(bad))
    bad = {"properties": {"f": {"type": "string", "x-title-i18n": {"pl": ""}}}}
    assert "labels per language" in " ".join(schema_problems(bad))
