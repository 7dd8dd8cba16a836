"""Quality's pages: another site's records are 404s, who may not decide sees no form and is
refused, the recall page holds downstream, and the item page draws its control chart."""

from decimal import Decimal

import pytest

from mes.models import Lot
from quality import services as q
from quality.models import Characteristic, InspectionPlan, QualityHold
from tests.factories import LotFactory, make_work_order

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def test_hold_page_scope_and_decisions(client, p1, p2, user_in, quality, supervisor):
    lot = LotFactory(site=p1, quantity=Decimal(10))
    hold = q.place_hold(scope="lot", lot=lot, reason="dent", actor=supervisor)
    assert (
        signed_in(client, user_in("quality", p2)).get(f"/quality/hold/{hold.pk}/").status_code
        == 404
    )
    assert client.get("/quality/holds/P1/").status_code == 404
    page = signed_in(client, supervisor).get(f"/quality/hold/{hold.pk}/")
    assert page.status_code == 200 and b"Record decision" not in page.content
    refused = client.post(f"/quality/hold/{hold.pk}/", {"kind": "release", "reason": "x"})
    assert refused.status_code == 403
    signed_in(client, quality)
    answer = client.post(
        f"/quality/hold/{hold.pk}/", {"kind": "release", "reason": ""}, follow=True
    )
    assert b"A reason is required" in answer.content
    client.post(
        f"/quality/hold/{hold.pk}/",
        {"kind": "release", "lot": lot.number, "quantity": "4", "reason": "ok"},
    )
    assert Lot.objects.get(pk=lot.pk).held_qty == Decimal(6)
    listing = client.get("/quality/holds/P1/")
    assert hold.number.encode() in listing.content


def test_recall_page_tree_export_and_hold_downstream(client, chain, quality):
    signed_in(client, quality)
    page = client.get("/quality/recall/P1/?lot=STEEL-1")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index("STEEL-1") < text.index("BRK-1") < text.index("KIT-1")
    assert client.get("/quality/recall/P1/?lot=STEEL-1&as=csv")["Content-Type"].startswith(
        "text/csv"
    )
    answer = client.post("/quality/recall/P1/", {"lot": "STEEL-1", "reason": "mill recall"})
    hold = QualityHold.objects.get()
    assert answer.status_code == 302 and hold.target == "supplier_lot"
    assert set(hold.lots.values_list("lot__number", flat=True)) == {"STEEL-1", "BRK-1", "KIT-1"}


def test_inspect_page_records_and_item_page_charts(client, p1, user_in):
    wo = make_work_order(p1, status="released", operations=1)
    op = wo.operations.get()
    plan = InspectionPlan.objects.create(name="p", item=wo.item, operation_sequence=op.sequence)
    bore = Characteristic.objects.create(
        plan=plan, name="Bore", lower_limit=Decimal("9.90"), upper_limit=Decimal("10.10"), unit="mm"
    )
    operator = user_in("operator", p1)
    signed_in(client, operator)
    page = client.get(f"/quality/inspect/{op.pk}/")
    assert b'data-upper="10.1000"' in page.content
    for value in ["10.00", "10.01", "9.99", "10.02", "9.98", "10.00", "10.01", "10.60"]:
        client.post(f"/quality/inspect/{op.pk}/", {f"c{bore.pk}-1": value})
    assert bore.results.count() == 8 and bore.results.filter(passed=False).count() == 1
    chart = client.get(f"/quality/items/{wo.item.code}/")
    assert chart.status_code == 200
    assert b"<svg" in chart.content and b"8 values" in chart.content
    assert client.get(f"/quality/inspect/{op.pk + 999}/").status_code == 404
    signed_in(client, user_in("operator", LotFactory().site))
    assert client.get(f"/quality/inspect/{op.pk}/").status_code == 404


def test_control_chart_marks_points_beyond_three_sigma(p1, user_in):
    from quality.charts import control_chart

    wo = make_work_order(p1, status="released", operations=1)
    op = wo.operations.get()
    plan = InspectionPlan.objects.create(name="p", item=wo.item, operation_sequence=op.sequence)
    bore = Characteristic.objects.create(
        plan=plan, name="Bore", lower_limit=Decimal("9"), upper_limit=Decimal("11"), decimals=2
    )
    values = ["10.00", "10.01", "9.99", "10.02", "9.98"] * 4 + ["10.40"]
    for value in values:
        q.record_results(op, actor=None, results=[q.Measurement(bore, value=value)])
    chart = control_chart(bore, user_in("quality", p1))
    assert len(chart.values) == 21 and chart.breaks == [20]
    assert chart.lcl < 10 < chart.ucl < 10.40 and chart.out_of_spec == 0
    assert chart.svg.count('fill="#dc2626"') == 1 and "LSL" in chart.svg and "UCL" in chart.svg
    other = user_in("quality", LotFactory().site)
    assert control_chart(bore, other).values == []  # another site's results are not drawn
