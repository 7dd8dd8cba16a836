"""A phone in a real browser (Playwright driving Debian's chromium against the live server):
``supervisor_p1`` raises a shortage on a running order in three taps, the rules hold the order,
``procurement_p1`` finds it in "My queue" and resolves it with a decision, the order resumes.

Celery runs eagerly in the server thread, so the rule effects are in the database by the time
the page after a POST has loaded.
"""

import pytest

from exceptions.models import Decision, ExceptionTicket
from tests.e2e.conftest import SCREENSHOTS, Phone
from tests.factories import make_user, make_work_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_shortage_raised_in_three_taps_and_resolved_from_the_queue(live_server, browser, p1):
    wo = make_work_order(p1, erp_number="WO-E2E-1", status="in_progress")
    make_user("supervisor_p1", "supervisor", [p1])
    make_user("procurement_p1", "procurement", [p1])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # supervisor_p1 on the floor: button, tile, submit
    supervisor = Phone(browser, live_server.url, "supervisor_p1")
    supervisor.open("/floor/P1/")
    page = supervisor.page
    supervisor.tap(page.get_by_role("link", name="Raise exception on WO-E2E-1").first)
    page.get_by_role("heading", name="What is wrong?").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "raise-phone.png"), full_page=True)
    supervisor.tap(page.get_by_role("link", name="Material shortage"))
    page.get_by_label("Material (item code)").fill("RM-4711")  # typing, not a tap
    page.get_by_label("Missing quantity").fill("250")
    supervisor.tap(page.get_by_role("button", name="Raise exception"))

    assert supervisor.taps == 3
    ticket = ExceptionTicket.objects.get()
    assert page.url == f"{live_server.url}/exceptions/{ticket.pk}/"
    assert page.locator("h1").inner_text().strip().endswith(ticket.number)
    assert "RM-4711" in page.locator("#form-data").inner_text()
    assert ticket.data == {"material": "RM-4711", "qty_missing": 250.0, "line_stopped": False}
    assert (ticket.work_order, ticket.raised_via) == (wo, "floor")
    wo.refresh_from_db()
    assert wo.status == "on_hold"  # "A shortage holds its work order", run after commit
    ticket.refresh_from_db()
    assert ticket.queue.name == "procurement" and ticket.holds_work_order
    page.reload()
    assert "Work order held" in page.locator("#timeline").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "exception-phone.png"), full_page=True)
    supervisor.close()

    # procurement_p1: My queue -> the ticket -> resolve with a decision
    buyer = Phone(browser, live_server.url, "procurement_p1")
    page = buyer.page
    buyer.tap(page.get_by_role("link", name="My queue"))
    queue = page.locator("#exceptions")
    assert ticket.number in queue.inner_text()
    buyer.tap(queue.get_by_role("link", name=ticket.number))
    page.get_by_label("Decision").fill("Air freight 250 kg from the supplier's Poznań stock")
    page.get_by_label("Reasoning").fill("A line stop costs more than the freight")
    buyer.tap(page.get_by_role("button", name="Resolve with decision"))

    assert page.locator("#status").inner_text().strip() == "Resolved"
    assert "Air freight" in page.locator("#decisions").inner_text()
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    decision = Decision.objects.get(exception=ticket)
    assert decision.decided_by.username == "procurement_p1"
    assert decision.reasoning == "A line stop costs more than the freight"
    wo.refresh_from_db()
    assert wo.status == "in_progress"  # back to its state before the hold
    buyer.close()
