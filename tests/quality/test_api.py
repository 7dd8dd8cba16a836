"""The quality API: every path refuses the wrong role and the wrong site, bad input is a 400
with a stable code, and the success paths write history and events."""

from decimal import Decimal

import pytest
from openpyxl import load_workbook

from mes import services
from mes.models import Lot, OutboxEvent
from quality.models import QualityHold, SiteQualityPolicy
from tests.factories import LotFactory

pytestmark = pytest.mark.django_db


def test_place_and_decide_through_the_api(p1, p2, user_in, client_for, quality, supervisor):
    lot = LotFactory(site=p1, quantity=Decimal(100))
    api = client_for(supervisor)
    answer = api.post(
        "/api/v1/quality-holds/",
        {"target": "lot", "lot": lot.number, "quantity": "40", "reason": "dented"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["number"].startswith("QH-") and body["lots"][0]["open_qty"] == "40.000"
    number = body["number"]
    # the wrong site sees nothing; the wrong role may not decide; no reason is a 400
    assert (
        client_for(user_in("quality", p2)).get(f"/api/v1/quality-holds/{number}/").status_code
        == 404
    )
    decide = f"/api/v1/quality-holds/{number}/decide/"
    assert api.post(decide, {"kind": "release", "reason": "ok"}, format="json").status_code == 403
    q_api = client_for(quality)
    no_reason = q_api.post(decide, {"kind": "release", "reason": ""}, format="json")
    assert (no_reason.status_code, no_reason.json()["code"]) == (400, "reason_required")
    bad = q_api.post(decide, {"kind": "melt", "reason": "x"}, format="json")
    assert bad.status_code == 400
    too_much = q_api.post(
        decide, {"kind": "scrap", "lot": lot.number, "quantity": "41", "reason": "x"}, format="json"
    )
    assert (too_much.status_code, too_much.json()["code"]) == (400, "invalid_quantity")
    stale = q_api.post(
        decide, {"kind": "release", "reason": "ok"}, format="json", HTTP_IF_MATCH='"99"'
    )
    assert stale.status_code == 412
    partial = q_api.post(
        decide,
        {"kind": "release", "lot": lot.number, "quantity": "25", "reason": "measured ok"},
        format="json",
    )
    assert partial.status_code == 201 and partial.json()["status"] == "active"
    scrapped = q_api.post(
        decide,
        {"kind": "scrap", "lot": lot.number, "reason": "dent too deep", "reason_code": "scrap"},
        format="json",
    )
    body = scrapped.json()
    assert body["status"] == "dispositioned" and [d["kind"] for d in body["decisions"]] == [
        "release",
        "scrap",
    ]
    assert Lot.objects.get(pk=lot.pk).quantity == Decimal(85)
    assert OutboxEvent.objects.get(type="lot.scrapped").actor == quality


def test_two_person_rule_through_the_api(p1, client_for, quality):
    SiteQualityPolicy.objects.create(site=p1, two_person_release=True)
    lot = LotFactory(site=p1)
    api = client_for(quality)
    number = api.post(
        "/api/v1/quality-holds/", {"target": "lot", "lot": lot.number, "reason": "x"}, format="json"
    ).json()["number"]
    answer = api.post(
        f"/api/v1/quality-holds/{number}/decide/",
        {"kind": "release", "reason": "ok"},
        format="json",
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "two_person_rule")


def test_held_lot_refused_by_the_confirmation_and_shipment_apis(p1, user_in, client_for, quality):
    from quality import services as q
    from tests.factories import make_work_order

    lot = LotFactory(site=p1)
    q.place_hold(scope="lot", lot=lot, reason="x", actor=quality)
    wo = make_work_order(p1, status="released", operations=1)
    op = wo.operations.get()
    answer = client_for(user_in("operator", p1)).post(
        "/api/v1/confirmations/",
        {"operation": op.pk, "good_qty": "1", "consumed": [{"lot": lot.number, "quantity": "1"}]},
        format="json",
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "lot_on_hold")
    erp = client_for(user_in("erp_integration", p1))
    answer = erp.post(
        "/api/v1/shipments/",
        {
            "site": "P1",
            "number": "DN-9",
            "customer": "ACME",
            "lines": [{"lot": lot.number, "quantity": "1"}],
        },
        format="json",
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "lot_on_hold")


def test_recall_api_and_exports(chain, p1, p2, user_in, client_for, quality):
    services.ship_lots(
        site=p1,
        number="DN-1",
        customer="Kunde GmbH",
        lines=[services.ShipmentSpec(chain["kit"], Decimal(4))],
        actor=None,
    )
    api = client_for(quality)
    body = api.get("/api/v1/genealogy/STEEL-1/").json()
    assert [row["lot"] for row in body["lots"]] == ["BRK-1", "KIT-1"]
    assert body["finished_lots"] == ["KIT-1"] and body["shipments"][0]["customer"] == "Kunde GmbH"
    back = api.get("/api/v1/genealogy/KIT-1/?direction=backward").json()
    assert [row["lot"] for row in back["lots"]] == ["BRK-1", "STEEL-1"]
    csv = api.get("/api/v1/genealogy/STEEL-1/export/")
    assert csv["Content-Type"].startswith("text/csv") and "KIT-1" in csv.content.decode()
    xlsx = api.get("/api/v1/genealogy/STEEL-1/export/?as=xlsx")
    import io

    book = load_workbook(io.BytesIO(xlsx.content))
    assert book["Shipments"]["B2"].value == "Kunde GmbH"
    assert client_for(user_in("quality", p2)).get("/api/v1/genealogy/STEEL-1/").status_code == 404


def test_inspection_results_api(p1, user_in, client_for, relay):
    from quality.models import Characteristic, InspectionPlan
    from tests.factories import make_work_order

    wo = make_work_order(p1, status="released", operations=1)
    op = wo.operations.get()
    plan = InspectionPlan.objects.create(name="p", item=wo.item, operation_sequence=op.sequence)
    bore = Characteristic.objects.create(
        plan=plan, name="Bore", lower_limit=Decimal("9.9"), upper_limit=Decimal("10.1"), decimals=1
    )
    api = client_for(user_in("operator", p1))
    bad = api.post(
        "/api/v1/inspection-results/",
        {"operation": op.pk, "results": [{"characteristic": bore.pk, "value": "10.05"}]},
        format="json",
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "too_many_decimals")
    answer = api.post(
        "/api/v1/inspection-results/",
        {"operation": op.pk, "results": [{"characteristic": bore.pk, "value": "10.3"}]},
        format="json",
    )
    assert answer.status_code == 201 and answer.json()[0]["passed"] is False
    relay()
    hold = QualityHold.objects.get()
    assert hold.target == "operation" and hold.operation_id == op.pk
