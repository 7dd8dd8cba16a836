"""On a 390 px phone in Chromium: an operator records an out-of-spec measurement (the value
turns red as it is typed), the rules hold the lot, and quality releases part of the hold and
scraps the rest. Screenshots of both pages go to docs/screenshots/."""

from decimal import Decimal

import pytest

from mes import services
from mes.models import Lot, OutboxEvent
from quality.models import Characteristic, InspectionPlan, NonConformance, QualityHold
from tests.e2e.conftest import SCREENSHOTS, Phone
from tests.factories import make_user, make_work_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_operator_records_out_of_spec_and_quality_releases_part_and_scraps_the_rest(
    live_server, browser, p1
):
    wo = make_work_order(p1, erp_number="WO-Q-1", status="released", operations=2, qty="40")
    first = wo.operations.order_by("sequence").first()
    services.confirm_operation(first, actor=None, good_qty=40, final=True, produced_lot="SH-001")
    plan = InspectionPlan.objects.create(
        name="Shaft", item=wo.item, operation_sequence=first.sequence
    )
    Characteristic.objects.create(
        plan=plan,
        name="Diameter",
        nominal=Decimal("20.00"),
        lower_limit=Decimal("19.95"),
        upper_limit=Decimal("20.05"),
        unit="mm",
        decimals=2,
    )
    make_user("operator_p1", "operator", [p1])
    make_user("quality_p1", "quality", [p1])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    operator = Phone(browser, live_server.url, "operator_p1")
    page = operator.page
    operator.open(f"/quality/inspect/{first.pk}/")
    page.get_by_label("Lot").select_option("SH-001")
    value = page.get_by_label("Sample 1")
    value.fill("20.03")
    assert "is-in" in value.get_attribute("class")
    value.fill("20.12")
    assert "is-out" in value.get_attribute("class")  # red as typed, before any request
    assert value.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "inspect-phone.png"), full_page=True)
    operator.tap(page.get_by_role("button", name="Record results"))
    assert "out of spec" in page.locator(".messages").inner_text()
    operator.close()

    nc = NonConformance.objects.get()
    hold = QualityHold.objects.get()
    assert hold.nonconformance == nc and hold.ticket.type.code == "out_of_spec"
    assert Lot.objects.get(number="SH-001").held_qty == Decimal(40)

    inspector = Phone(browser, live_server.url, "quality_p1")
    page = inspector.page
    inspector.tap(page.get_by_role("link", name="Quality"))
    inspector.tap(page.get_by_role("link", name=hold.number))
    page.get_by_label("Decision").select_option("release")
    page.get_by_label("Quantity (empty: all still held)").fill("30")
    page.get_by_label("Reason", exact=True).fill("Remeasured on the CMM: in spec")
    inspector.tap(page.get_by_role("button", name="Record decision"))
    assert page.locator(".still-held").inner_text().strip() == "10"
    page.get_by_label("Decision").select_option("scrap")
    page.get_by_label("Reason code").select_option("scrap")
    page.get_by_label("Reason", exact=True).fill("Undersize after grinding")
    inspector.tap(page.get_by_role("button", name="Record decision"))
    assert "Dispositioned" in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "hold-phone.png"), full_page=True)
    inspector.close()

    lot = Lot.objects.get(number="SH-001")
    assert (lot.quantity, lot.held_qty, lot.status) == (Decimal(30), 0, "available")
    scrap = OutboxEvent.objects.get(type="lot.scrapped")
    assert scrap.payload["quantity"] == "10.000" and scrap.actor.username == "quality_p1"
