"""The builders in a real browser: a manager who is not a superuser builds the "Forklift
damage" form on a tablet without typing JSON (a choice field, a yes/no field and a field shown
only when it is ticked), the phone-sized preview follows every edit, and the same form typed as
JSON in the advanced editor is stored identically; then a routing rule on a form field, as rows.
A supervisor raises it on a 390 px phone and the rule routes it.
"""

import json

import pytest
from playwright.sync_api import expect

from exceptions.models import ExceptionTicket, ExceptionType, RoutingRule
from tests.e2e.conftest import SCREENSHOTS, TABLET, Phone
from tests.factories import make_user, make_work_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What a manager would type as JSON for the same form (no "type", no "order": the save adds them).
TYPED = {
    "properties": {
        "forklift_no": {
            "type": "string",
            "title": "Forklift number",
            "maxLength": 20,
            "x-title-i18n": {"pl": "Numer wózka", "de": "Staplernummer"},
        },
        "damage": {
            "type": "string",
            "title": "Damage",
            "enum": ["Fork", "Mast", "Tyre", "Other"],
        },
        "photo_taken": {"type": "boolean", "title": "Photo taken"},
        "photo_ref": {
            "type": "string",
            "title": "Photo reference",
            "description": "The number on the camera",
            "x-show-if": {"field": "photo_taken", "equals": True},
        },
    },
    "required": ["forklift_no", "damage", "photo_ref"],
}


def _row(page, n: int):
    return page.locator(".fb-row").nth(n - 1)


def _new_type(page, base_url: str, code: str, name: str):
    page.goto(f"{base_url}/admin/exceptions/exceptiontype/add/")
    page.fill("#id_code", code)
    page.fill("#id_name", name)
    page.select_option("#id_category", "other")
    page.select_option("#id_workflow", label="Default")


def test_a_manager_builds_a_form_without_json_and_a_phone_raises_it(live_server, browser, p1):
    make_user("manager_p1", "manager", [p1], is_staff=True)
    make_user("supervisor_p1", "supervisor", [p1])
    wo = make_work_order(p1, erp_number="WO-FL-1", status="in_progress")
    manager = Phone(browser, live_server.url, "manager_p1", viewport=TABLET)
    page = manager.page
    errors = []  # of the builder's script (the live server has no websockets: bell.js's are)
    page.on(
        "console",
        lambda m: m.type == "error" and "WebSocket" not in m.text and errors.append(m.text),
    )
    _new_type(page, live_server.url, "forklift_damage", "Forklift damage")
    preview = page.frame_locator(".fb-phone")

    page.get_by_role("button", name="+ Add a field").click()
    _row(page, 1).get_by_label("Label", exact=True).fill("Forklift number")
    _row(page, 1).get_by_label("Required").check()
    _row(page, 1).get_by_label("Longest").fill("20")
    _row(page, 1).get_by_label("Label in Polish").fill("Numer wózka")
    _row(page, 1).get_by_label("Label in German").fill("Staplernummer")
    expect(_row(page, 1).get_by_label("Stored as")).to_have_value("forklift_number")
    _row(page, 1).get_by_label("Stored as").fill("forklift_no")

    page.get_by_role("button", name="+ Add a field").click()
    _row(page, 2).get_by_label("Label", exact=True).fill("Damage")
    _row(page, 2).get_by_label("Type").select_option(label="Choice")
    _row(page, 2).get_by_label("Choices, one per line").fill("Fork\nMast\nTyre\nOther")
    _row(page, 2).get_by_label("Required").check()

    page.get_by_role("button", name="+ Add a field").click()
    _row(page, 3).get_by_label("Label", exact=True).fill("Photo taken")
    _row(page, 3).get_by_label("Type").select_option(label="Yes / no")

    page.get_by_role("button", name="+ Add a field").click()
    _row(page, 4).get_by_label("Label", exact=True).fill("Photo reference")
    expect(_row(page, 4).get_by_label("Stored as")).to_have_value("photo_reference")
    _row(page, 4).get_by_label("Stored as").fill("photo_ref")
    _row(page, 4).get_by_label("Help text").fill("The number on the camera")
    _row(page, 4).get_by_label("Required").check()
    _row(page, 4).get_by_label("Shown").select_option(label="when Photo taken is")

    # The phone beside the rows shows the form as the floor will, as it is built.
    expect(preview.get_by_text("Tyre")).to_be_visible()
    expect(preview.locator("[data-show-if]")).to_be_hidden()
    preview.get_by_text("Photo taken").click()
    expect(preview.get_by_label("Photo reference")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "form-builder.png"), full_page=True)
    assert page.locator("textarea[name=form_schema]").is_hidden()  # no JSON in sight
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()

    built = ExceptionType.objects.get(code="forklift_damage").form_schema

    # The same form typed as JSON (advanced switch) is stored identically.
    _new_type(page, live_server.url, "forklift_damage_json", "Forklift damage (JSON)")
    page.get_by_label("Edit as JSON (advanced)").check()
    page.locator("textarea[name=form_schema]").fill(json.dumps(TYPED, indent=2))
    page.locator(".fb-row").nth(3).wait_for()  # the rows follow the JSON
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()
    typed = ExceptionType.objects.get(code="forklift_damage_json").form_schema
    assert built == typed
    assert built["order"] == ["forklift_no", "damage", "photo_taken", "photo_ref"]

    # A routing rule on a form field, built as rows: a damaged mast goes to maintenance, high.
    page.goto(f"{live_server.url}/admin/exceptions/routingrule/add/")
    page.fill("#id_name", "Damaged masts go to maintenance")
    page.fill("#id_order", "15")
    page.select_option("#id_types_from", label="Forklift damage")
    page.click("#id_types_add")
    conditions = page.locator(".rule-builder[data-kind=conditions]")
    conditions.get_by_role("button", name="+ Add a condition").click()
    expect(conditions.get_by_label("Form field", exact=True)).to_have_value('"forklift_no"')
    conditions.get_by_label("Form field", exact=True).select_option(label="Damage")
    conditions.get_by_label("Compared", exact=True).select_option(label="equals")
    conditions.get_by_label("Value", exact=True).select_option(label="Mast")
    rule_actions = page.locator(".rule-builder[data-kind=actions]")
    rule_actions.get_by_role("button", name="+ Add an action").click()
    rule_actions.get_by_label("Action", exact=True).select_option(label="Put in a role's queue")
    rule_actions.get_by_label("Role", exact=True).select_option(label="maintenance")
    rule_actions.get_by_role("button", name="+ Add an action").click()
    rule_actions.locator(".fb-row").nth(1).get_by_label("Action", exact=True).select_option(
        label="Set the severity"
    )
    rule_actions.get_by_label("Severity", exact=True).select_option(label="High")
    # Tried beside the builder before saving: on a sample without form data it cannot match.
    trying = page.locator(".rule-try")
    trying.get_by_label("Type").select_option(label="Forklift damage")
    trying.get_by_label("Site").select_option(label="P1 Zakład Gliwice")
    trying.get_by_role("button", name="Try this rule").click()
    expect(trying.get_by_text("(as edited)")).to_be_visible()
    expect(trying.locator("tr.draft")).to_contain_text("the exception has no damage")
    page.screenshot(path=str(SCREENSHOTS / "rule-builder.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was added successfully").wait_for()
    rule = RoutingRule.objects.get(name="Damaged masts go to maintenance")
    assert rule.field_conditions == [{"field": "damage", "op": "equals", "value": "Mast"}]
    assert rule.actions == [
        {"action": "assign_role", "role": "maintenance"},
        {"action": "set_severity", "severity": "high"},
    ]
    assert [t.code for t in rule.types.all()] == ["forklift_damage"]
    assert not errors, errors
    manager.close()

    # A supervisor raises it on a phone; the photo reference appears once the photo is taken.
    supervisor = Phone(browser, live_server.url, "supervisor_p1")
    supervisor.open("/floor/P1/")
    page = supervisor.page
    supervisor.tap(page.get_by_role("link", name="Raise exception on WO-FL-1").first)
    supervisor.tap(page.get_by_role("link", name="Forklift damage", exact=True))
    page.get_by_label("Forklift number").fill("FL-07")
    page.get_by_text("Mast", exact=True).click()
    expect(page.get_by_label("Photo reference")).to_be_hidden()
    page.get_by_text("Photo taken").click()
    page.get_by_label("Photo reference").fill("IMG-0042")
    page.screenshot(path=str(SCREENSHOTS / "form-builder-phone.png"), full_page=True)
    supervisor.tap(page.get_by_role("button", name="Raise exception"))
    ticket = ExceptionTicket.objects.get()
    assert ticket.data == {
        "forklift_no": "FL-07",
        "damage": "Mast",
        "photo_taken": True,
        "photo_ref": "IMG-0042",
    }
    assert ticket.work_order == wo
    assert (ticket.queue.name, ticket.severity) == ("maintenance", "high")  # the built rule
    supervisor.close()
