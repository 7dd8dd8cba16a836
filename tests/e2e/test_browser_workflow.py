"""The workflow diagram in a real browser: a manager defines the Forklift damage workflow's five
states and four moves in rows; the page draws them, with who may make each move; a sixth state
added without a move into it is marked unreachable before anything is saved."""

import pytest
from playwright.sync_api import expect

from exceptions.models import Workflow
from tests.e2e.conftest import SCREENSHOTS, TABLET, Phone
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STATES = [
    ("reported", "Reported", "open"),
    ("inspected", "Inspected", "acknowledged"),
    ("repair", "Repair scheduled", "active"),
    ("repaired", "Repaired", "resolved"),
    ("closed", "Closed", "closed"),
]
MOVES = [
    ("Reported", "Inspected", "Inspect", ["maintenance"]),
    ("Inspected", "Repair scheduled", "Schedule repair", ["maintenance", "supervisor"]),
    ("Repair scheduled", "Repaired", "Repaired", ["maintenance"]),
    ("Repaired", "Closed", "Close", ["supervisor"]),
]


def _add_row(page, prefix: str, link: str) -> int:
    index = int(page.locator(f"#id_{prefix}-TOTAL_FORMS").input_value())
    page.get_by_text(link, exact=True).click()
    page.locator(
        f"[name='{prefix}-{index}-{'code' if prefix == 'states' else 'label'}']"
    ).wait_for()
    return index


def test_the_diagram_draws_the_rows_and_marks_an_unreachable_state(live_server, browser, p1):
    make_user("manager_p1", "manager", [p1], is_staff=True)
    manager = Phone(browser, live_server.url, "manager_p1", viewport=TABLET)
    page = manager.page
    page.goto(f"{live_server.url}/admin/exceptions/workflow/add/")
    page.fill("#id_code", "forklift")
    page.fill("#id_name", "Forklift repair")
    page.fill("#id_initial_state", "reported")
    for code, name, phase in STATES:
        i = _add_row(page, "states", "Add another Workflow state")
        page.fill(f"[name='states-{i}-code']", code)
        page.fill(f"[name='states-{i}-name']", name)
        page.select_option(f"[name='states-{i}-phase']", phase)
    live = page.locator(".wf-live")
    expect(live.locator(".wf-state")).to_have_count(5)  # drawn from the rows, unsaved
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_text("was added successfully").wait_for()

    for source, target, label, roles in MOVES:
        i = _add_row(page, "transitions", "Add another Workflow transition")
        page.select_option(f"[name='transitions-{i}-from_state']", label=source)
        page.select_option(f"[name='transitions-{i}-to_state']", label=target)
        page.fill(f"[name='transitions-{i}-label']", label)
        row = page.locator(f"#transitions-{i}")
        for role in roles:
            row.get_by_label(role, exact=True).check()
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_text("was changed successfully").wait_for()
    workflow = Workflow.objects.get(code="forklift")
    assert workflow.transitions.count() == 4

    expect(live.locator(".wf-state")).to_have_count(5)
    expect(live.locator(".wf-move")).to_have_count(4)
    expect(live.locator(".wf-flags")).to_have_count(0)
    assert "maintenance, supervisor" in live.locator(".wf-moves").inner_text()

    i = _add_row(page, "states", "Add another Workflow state")
    page.fill(f"[name='states-{i}-code']", "waiting")
    page.fill(f"[name='states-{i}-name']", "Waiting for parts")
    expect(live.locator(".wf-unreachable")).to_have_count(1)
    expect(live.locator(".wf-state")).to_have_count(6)
    expect(live.get_by_text("State waiting is unreachable")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    live.screenshot(path=str(SCREENSHOTS / "workflow-diagram.png"))
    assert workflow.states.count() == 5  # nothing saved by drawing
    manager.close()
