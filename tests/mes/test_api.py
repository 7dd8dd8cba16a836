"""API: scoping by site, roles, natural keys, JSON errors, and confirmations that change nothing
when they are refused."""

from decimal import Decimal

import pytest

from mes.models import Confirmation, Lot, Operation, OutboxEvent, WorkOrder
from tests.factories import LotFactory, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


@pytest.fixture
def orders(p1, p2):
    return {
        "p1": [make_work_order(p1, status=s) for s in ("planned", "released", "in_progress")],
        "p2": [make_work_order(p2, status=s) for s in ("released", "in_progress")],
    }


def numbers(response):
    return {row["erp_number"] for row in response.json()["results"]}


def test_supervisor_lists_only_own_site(orders, user_in, client_for, p1):
    client = client_for(user_in("supervisor", p1))
    response = client.get("/api/v1/work-orders/")
    assert response.status_code == 200
    assert numbers(response) == {wo.erp_number for wo in orders["p1"]}


def test_auditor_reads_both_sites(orders, user_in, client_for):
    client = client_for(user_in("auditor"))
    response = client.get("/api/v1/work-orders/")
    assert response.status_code == 200
    assert numbers(response) == {wo.erp_number for wo in orders["p1"] + orders["p2"]}


def test_anonymous_gets_401_json(orders, client_for):
    response = client_for(None).get("/api/v1/work-orders/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token_gets_401(client_for, db):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token nope")
    response = client.get("/api/v1/sites/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/work-orders/{p1_released}/hold/", {"reason": "audit"}),
        ("post", "/api/v1/work-orders/{p1_planned}/release/", {}),
        ("post", "/api/v1/work-orders/{p2_released}/cancel/", {"reason": "x"}),
        ("post", "/api/v1/confirmations/", {"operation": "{op}", "good_qty": "1"}),
        ("post", "/api/v1/lots/", {"site": "P1", "number": "L-1", "item": "X", "quantity": "1"}),
        ("post", "/api/v1/work-orders/", {"site": "P1"}),
        ("post", "/api/v1/work-centers/{wc}/resequence/", {"operations": [], "reason": "x"}),
        ("post", "/api/v1/operations/{op}/start/", {}),
        ("put", "/api/v1/work-orders/{p1_planned}/", {}),
        ("patch", "/api/v1/work-orders/{p1_planned}/", {}),
        ("delete", "/api/v1/work-orders/{p1_planned}/", None),
    ],
)
def test_auditor_is_refused_every_write(orders, user_in, client_for, method, path, body):
    released = orders["p1"][1]
    op = released.operations.first()
    fill = {
        "p1_released": released.erp_number,
        "p1_planned": orders["p1"][0].erp_number,
        "p2_released": orders["p2"][0].erp_number,
        "op": op.pk,
        "wc": op.work_center.code,
    }
    if isinstance(body, dict):
        body = {k: (v.format(**fill) if isinstance(v, str) else v) for k, v in body.items()}
    before = (OutboxEvent.objects.count(), WorkOrder.history.count())
    client = client_for(user_in("auditor"))
    response = getattr(client, method)(path.format(**fill), body, format="json")
    assert response.status_code in (403, 405)
    if response.status_code == 403:
        assert response.json()["code"] == "permission_denied"
    assert (OutboxEvent.objects.count(), WorkOrder.history.count()) == before


def test_write_methods_not_offered_are_405_json(orders, user_in, client_for, p1):
    client = client_for(user_in("manager", p1))
    response = client.delete(f"/api/v1/work-orders/{orders['p1'][0].erp_number}/")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_detail_of_other_site_is_404(orders, user_in, client_for, p1):
    client = client_for(user_in("supervisor", p1))
    other = orders["p2"][0]
    assert client.get(f"/api/v1/work-orders/{other.erp_number}/").status_code == 404
    assert client.get(f"/api/v1/work-orders/{other.pk}/").status_code == 404
    assert client.get("/api/v1/sites/P2/").status_code == 404
    response = client.post(f"/api/v1/work-orders/{other.erp_number}/hold/", {"reason": "x"})
    assert response.status_code == 404
    assert WorkOrder.objects.get(pk=other.pk).status == "released"


def test_records_addressed_by_codes_with_slashes(p1, user_in, client_for):
    wo = make_work_order(p1, erp_number="ZP/2026/07/0001", status="planned")
    client = client_for(user_in("planner", p1))
    response = client.get("/api/v1/work-orders/ZP/2026/07/0001/")
    assert response.status_code == 200
    assert response.json()["id"] == wo.pk
    assert client.get("/api/v1/work-orders/ZP%2F2026%2F07%2F0001/").json()["id"] == wo.pk
    response = client.post("/api/v1/work-orders/ZP/2026/07/0001/release/", {}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "released"
    assert client.get("/api/v1/sites/P1/").json()["code"] == "P1"


def test_same_erp_number_at_two_sites_needs_site(p1, p2, user_in, client_for):
    make_work_order(p1, erp_number="WO-1", status="planned")
    make_work_order(p2, erp_number="WO-1", status="planned")
    client = client_for(user_in("auditor"))
    response = client.get("/api/v1/work-orders/WO-1/")
    assert response.status_code == 400
    assert response.json()["code"] == "ambiguous_lookup"
    assert client.get("/api/v1/work-orders/WO-1/?site=P2").json()["site"] == "P2"


def test_filters(p1, user_in, client_for):
    import datetime

    past = make_work_order(p1, status="released", due_date=datetime.date(2020, 1, 1))
    future = make_work_order(p1, status="in_progress")
    make_work_order(p1, status="closed", due_date=datetime.date(2020, 1, 1))
    client = client_for(user_in("planner", p1))
    assert numbers(client.get("/api/v1/work-orders/?behind=true")) == {past.erp_number}
    assert numbers(client.get("/api/v1/work-orders/?status=in_progress")) == {future.erp_number}
    both = client.get("/api/v1/work-orders/?status=released,in_progress")
    assert numbers(both) == {past.erp_number, future.erp_number}
    assert numbers(client.get("/api/v1/work-orders/?due_before=2021-01-01&status=released")) == {
        past.erp_number
    }
    bad = client.get("/api/v1/work-orders/?status=nonsense")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_filter"
    assert client.get("/api/v1/work-orders/?due_before=notadate").status_code == 400


def test_list_query_count_is_flat(p1, user_in, client_for, django_assert_max_num_queries):
    for _ in range(8):
        make_work_order(p1, status="released", operations=3)
    client = client_for(user_in("planner", p1))
    with django_assert_max_num_queries(10):
        response = client.get("/api/v1/work-orders/")
    assert len(response.json()["results"]) == 8


# --- confirmations ----------------------------------------------------------------------


@pytest.fixture
def running(p1):
    return make_work_order(p1, status="in_progress", qty="50")


def _state():
    return (
        Confirmation.objects.count(),
        OutboxEvent.objects.count(),
        list(Lot.objects.order_by("pk").values_list("quantity", "status")),
        list(Operation.objects.order_by("pk").values_list("status", flat=True)),
    )


def test_confirmation_success_path(running, p1, user_in, client_for):
    lot = LotFactory(site=p1, quantity=Decimal("30"))
    op = running.operations.order_by("sequence").first()
    client = client_for(user_in("operator", p1))
    response = client.post(
        "/api/v1/confirmations/",
        {
            "work_order": running.erp_number,
            "sequence": op.sequence,
            "good_qty": "20",
            "scrap_qty": "1",
            "labor_minutes": "30.5",
            "machine_minutes": "28",
            "consumed": [{"lot": lot.number, "quantity": "30"}],
            "produced_lot": "P1-OUT-1",
            "final": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["consumed"] == [{"lot": lot.number, "quantity": "30.000"}]
    assert body["produced_lots"] == ["P1-OUT-1"]
    lot.refresh_from_db()
    assert (lot.quantity, lot.status) == (Decimal(0), "consumed")
    op.refresh_from_db()
    assert op.status == "completed"
    assert Lot.objects.get(number="P1-OUT-1").quantity == Decimal(20)
    event = OutboxEvent.objects.filter(type="operation.confirmed").get()
    assert event.payload["good_qty"] == "20.000"
    assert event.actor.username.startswith("operator")
    confirmation = Confirmation.objects.get()
    assert confirmation.history.get().history_user == event.actor


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"good_qty": "-1"}, 400, "invalid", "good_qty"),
        ({"good_qty": "1", "scrap_qty": "-2"}, 400, "invalid", "scrap_qty"),
        ({"good_qty": "abc"}, 400, "invalid", "good_qty"),
        ({"good_qty": "0"}, 400, "empty_confirmation", "good_qty"),
        (
            {"good_qty": "1", "consumed": [{"lot": "NOPE", "quantity": "1"}]},
            400,
            "unknown_lot",
            "consumed",
        ),
        (
            {"good_qty": "1", "consumed": [{"lot": "LOT-A", "quantity": "500"}]},
            409,
            "insufficient_lot_quantity",
            None,
        ),
        (
            {"good_qty": "1", "consumed": [{"lot": "LOT-A", "quantity": "-1"}]},
            400,
            "invalid",
            "consumed",
        ),
        ({"good_qty": "1", "machine": "NOPE"}, 400, "unknown_machine", "machine"),
        (
            {
                "good_qty": "1",
                "started_at": "2026-01-02T10:00:00Z",
                "ended_at": "2026-01-01T10:00:00Z",
            },
            400,
            "invalid_period",
            "ended_at",
        ),
    ],
)
def test_bad_confirmation_changes_nothing(
    running, p1, user_in, client_for, body, status, code, field
):
    LotFactory(site=p1, number="LOT-A", quantity=Decimal("10"))
    op = running.operations.order_by("sequence").first()
    before = _state()
    response = client_for(user_in("operator", p1)).post(
        "/api/v1/confirmations/", {"operation": op.pk, **body}, format="json"
    )
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    if field:
        assert field in response.json()["fields"]
    assert _state() == before


def test_confirmation_of_other_sites_operation_is_refused(running, p1, p2, user_in, client_for):
    other = make_work_order(p2, status="in_progress")
    op = other.operations.first()
    before = _state()
    response = client_for(user_in("operator", p1)).post(
        "/api/v1/confirmations/", {"operation": op.pk, "good_qty": "1"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_operation"
    assert _state() == before


def test_confirmation_consuming_other_sites_lot_is_refused(running, p1, p2, user_in, client_for):
    LotFactory(site=p2, number="P2-LOT", quantity=Decimal("10"))
    op = running.operations.first()
    before = _state()
    response = client_for(user_in("operator", p1, p2)).post(
        "/api/v1/confirmations/",
        {"operation": op.pk, "good_qty": "1", "consumed": [{"lot": "P2-LOT", "quantity": "1"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_lot"
    assert _state() == before


@pytest.mark.parametrize("status", ["closed", "completed", "cancelled", "on_hold", "planned"])
def test_confirmation_on_inactive_work_order_is_409(p1, user_in, client_for, status):
    wo = make_work_order(p1, status=status)
    op = wo.operations.first()
    before = _state()
    response = client_for(user_in("operator", p1)).post(
        "/api/v1/confirmations/", {"operation": op.pk, "good_qty": "1"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "work_order_not_active"
    assert _state() == before


def test_confirmation_without_operation_is_400(p1, user_in, client_for):
    response = client_for(user_in("operator", p1)).post(
        "/api/v1/confirmations/", {"good_qty": "1"}, format="json"
    )
    assert response.status_code == 400
    assert "operation" in response.json()["fields"]


def test_malformed_json_is_400(p1, user_in, client_for):
    response = client_for(user_in("operator", p1)).post(
        "/api/v1/confirmations/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_wrong_role_cannot_confirm(running, p1, user_in, client_for):
    op = running.operations.first()
    response = client_for(user_in("customer_service", p1)).post(
        "/api/v1/confirmations/", {"operation": op.pk, "good_qty": "1"}, format="json"
    )
    assert response.status_code == 403
    assert not Confirmation.objects.exists()


# --- work order transitions over the API ------------------------------------------------


def test_hold_and_resume_over_api(running, p1, user_in, client_for):
    client = client_for(user_in("supervisor", p1))
    url = f"/api/v1/work-orders/{running.erp_number}"
    response = client.post(f"{url}/hold/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    response = client.post(f"{url}/hold/", {"reason": "Brak materiału"}, format="json")
    assert response.json()["status"] == "on_hold"
    assert client.post(f"{url}/hold/", {"reason": "again"}, format="json").status_code == 409
    response = client.post(f"{url}/resume/", {}, format="json")
    assert response.json()["status"] == "in_progress"
    latest = WorkOrder.history.filter(id=running.pk).order_by("-history_id")
    assert [h.history_change_reason for h in latest[:2]] == ["resumed", "Brak materiału"]


def test_create_work_order_over_api(p1, user_in, client_for):
    from tests.factories import ItemFactory, WorkCenterFactory

    item = ItemFactory(code="FG-1")
    WorkCenterFactory(site=p1, code="P1-TOK")
    client = client_for(user_in("erp_integration", p1))
    body = {
        "site": "P1",
        "erp_number": "ZP/2026/09/0042",
        "item": "FG-1",
        "planned_qty": "12.5",
        "due_date": "2026-12-01",
        "operations": [
            {
                "sequence": 10,
                "work_center": "P1-TOK",
                "setup_minutes": "20",
                "run_minutes_per_unit": "0.4295",
            }
        ],
    }
    response = client.post("/api/v1/work-orders/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["operations"][0]["work_center"] == "P1-TOK"
    assert WorkOrder.objects.get(erp_number="ZP/2026/09/0042").item == item
    again = client.post("/api/v1/work-orders/", body, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "work_order_exists"
    bad = client.post(
        "/api/v1/work-orders/",
        {**body, "erp_number": "X", "operations": [{"sequence": 10, "work_center": "P2-XXX"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "unknown_work_center"
    assert (
        client.post("/api/v1/work-orders/", {**body, "site": "P2"}, format="json").json()["code"]
        == "unknown_site"
    )


def test_resequence_over_api(p1, user_in, client_for):
    from tests.factories import WorkCenterFactory

    wc = WorkCenterFactory(site=p1, code="P1-PRA")
    first = make_work_order(p1, status="released", operations=1, work_centers=[wc])
    second = make_work_order(p1, status="released", operations=1, work_centers=[wc])
    a, b = first.operations.get(), second.operations.get()
    client = client_for(user_in("planner", p1))
    queue = client.get("/api/v1/work-centers/P1-PRA/queue/").json()
    assert [row["id"] for row in queue] == [a.pk, b.pk]
    response = client.post(
        "/api/v1/work-centers/P1-PRA/resequence/",
        {"operations": [b.pk, a.pk], "reason": "Rush order"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()] == [b.pk, a.pk]
    missing = client.post(
        "/api/v1/work-centers/P1-PRA/resequence/",
        {"operations": [b.pk], "reason": "x"},
        format="json",
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "queue_mismatch"
    no_reason = client.post(
        "/api/v1/work-centers/P1-PRA/resequence/", {"operations": [a.pk, b.pk]}, format="json"
    )
    assert no_reason.status_code == 400


def test_openapi_schema_and_docs(client, db):
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
