"""A phone in a real browser (Playwright driving Debian's chromium against the live server):
``supervisor_p1`` raises a shortage on a running order in three taps, the rules hold the order,
``procurement_p1`` finds it in "My queue" and resolves it with a decision, the order resumes.

Celery runs eagerly in the server thread, so the rule effects are in the database by the time
the page after a POST has loaded.
"""

from pathlib import Path

import pytest
from django.db import connections

from exceptions.models import Decision, ExceptionTicket
from tests.conftest import REQUIRED
from tests.factories import make_user, make_work_order

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _missing(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def browser(monkeypatch, transactional_db):
    if not Path(CHROMIUM).exists():
        _missing(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("needs the playwright package (pip install -e '.[dev]')")
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are still sync.
    # Only for this test: `check --deploy` in another test must not see the variable.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # With Playwright's loop running, Django keeps DB connections per context, not per thread:
    # close them on both sides so no session outlives the test and blocks dropping the test DB.
    connections.close_all()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()
        connections.close_all()


class Phone:
    """A signed-in phone-sized browser context that counts the taps."""

    def __init__(self, browser, base_url: str, username: str):
        self.context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.base_url = base_url
        self.taps = 0
        self.page.goto(f"{base_url}/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", "pw")
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{base_url}/")

    def open(self, path: str):
        self.page.goto(f"{self.base_url}{path}")

    def tap(self, locator):
        self.taps += 1
        locator.click()
        self.page.wait_for_load_state()

    def close(self):
        self.context.close()


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
