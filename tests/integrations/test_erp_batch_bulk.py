"""The set-based paths of the work-order batch: new orders written in a few statements, known
orders whose record changes nothing answered together, with the same rows, history and
events as the record-by-record path and a statement count that does not grow with the batch."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mes.models import Operation, OutboxEvent, WorkOrder, WorkOrderComponent
from tests.integrations.test_erp_batch import URL, order, send, statuses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


def numbers(n, prefix="B"):
    return [f"{prefix}/{k}" for k in range(n)]


def test_new_orders_get_a_history_row_per_row_with_actor_reason_and_request(plant, client_for):
    answer = client_for(plant["erp"]).post(
        URL,
        {"orders": [order(n, version=3) for n in numbers(3)]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        HTTP_X_REQUEST_ID="req-bulk-1",
    )
    assert [s for _n, s in statuses(answer)] == ["created"] * 3
    orders = WorkOrder.objects.filter(erp_number__in=numbers(3))
    for model, rows in (
        (WorkOrder, orders),
        (Operation, Operation.objects.filter(work_order__in=orders)),
        (WorkOrderComponent, WorkOrderComponent.objects.filter(work_order__in=orders)),
    ):
        pks = set(rows.values_list("pk", flat=True))
        history = list(model.history.filter(id__in=pks))
        assert {h.id for h in history} == pks and len(history) == len(pks), model
        for row in history:
            assert row.history_type == "+"
            assert row.history_user == plant["erp"]
            assert row.history_change_reason == "ERP version 3"
            assert row.request_id == "req-bulk-1"
    # the history row holds the row as written
    op = Operation.objects.filter(work_order__in=orders).order_by("pk").first()
    copy = op.history.get()
    assert (copy.sequence, copy.work_center_id, copy.planned_run_minutes_per_unit) == (
        op.sequence,
        op.work_center_id,
        op.planned_run_minutes_per_unit,
    )
    assert copy.status == "queued" and op.status == "queued"
    events = OutboxEvent.objects.filter(type="work_order.created", request_id="req-bulk-1")
    assert sorted(int(e.aggregate_id) for e in events) == sorted(
        orders.values_list("pk", flat=True)
    )
    assert {e.actor_id for e in events} == {plant["erp"].pk}


def test_a_newer_version_with_nothing_changed_is_noted_in_one_history_row(plant, client_for):
    send(client_for, plant["erp"], [order("N/1", reference="PO 1"), order("N/2")])
    wo = WorkOrder.objects.get(erp_number="N/1")
    events = OutboxEvent.objects.count()
    answer = send(
        client_for,
        plant["erp"],
        [order("N/1", version=5, reference="PO 1 rev"), order("N/2", version=1)],
    )
    assert statuses(answer) == [("N/1", "unchanged"), ("N/2", "unchanged")]
    wo.refresh_from_db()
    assert (wo.erp_version, wo.erp_reference) == (5, "PO 1 rev")
    latest = wo.history.order_by("-history_id").first()
    assert latest.history_type == "~" and latest.history_change_reason == "ERP version 5"
    assert (latest.erp_version, latest.erp_reference) == (5, "PO 1 rev")
    assert latest.history_user == plant["erp"]
    assert wo.history.count() == 2
    # the same version again writes nothing at all; an older one is stale
    assert WorkOrder.objects.get(erp_number="N/2").history.count() == 1
    assert OutboxEvent.objects.count() == events
    again = send(client_for, plant["erp"], [order("N/1", version=4)])
    assert again.json()["results"][0] == {
        "erp_number": "N/1",
        "status": "stale",
        "erp_version": 5,
    }
    assert wo.history.count() == 2


def test_a_bad_revision_of_a_known_order_is_rejected_in_the_batch_path(plant, client_for):
    send(client_for, plant["erp"], [order("R/1")])
    twice = [{"item": "RM-30196", "quantity": 1}, {"item": "RM-30196", "quantity": 2}]
    answer = send(client_for, plant["erp"], [order("R/1", version=2, components=twice)])
    assert answer.json()["results"][0]["code"] == "duplicate_component"
    assert WorkOrder.objects.get(erp_number="R/1").erp_version == 1


def test_a_site_it_cannot_change_is_refused_for_a_known_order(plant, client_for):
    send(client_for, plant["erp"], [order("S/1", site="P2", operations=p2_routing())])
    answer = send(
        client_for, plant["p1_only"], [order("S/1", site="P2", version=2, operations=p2_routing())]
    )
    result = answer.json()["results"][0]
    assert result["status"] == "rejected" and result["code"] == "wrong_site"
    assert WorkOrder.objects.get(erp_number="S/1").erp_version == 1


def p2_routing():
    return [
        {"sequence": 10, "work_center": "P2-FRA", "setup_minutes": 1, "run_minutes_per_unit": 1}
    ]


def statements(client_for, user, records):
    with CaptureQueriesContext(connection) as queries:
        answer = send(client_for, user, records)
    assert answer.status_code == 200
    return len(queries), {r["status"] for r in answer.json()["results"]}


def test_statements_per_batch_do_not_grow_with_its_orders(plant, client_for):
    statements(client_for, plant["erp"], [order("WARM/1")])  # caches filled, as in service
    small = statements(client_for, plant["erp"], [order(n) for n in numbers(2, "Q")])
    large = statements(client_for, plant["erp"], [order(n) for n in numbers(12, "L")])
    assert small == (large[0], {"created"}) and large[1] == {"created"}
    # resent: every record unchanged; then a newer version of each, still unchanged
    assert (
        statements(client_for, plant["erp"], [order(n) for n in numbers(2, "Q")])[0]
        == (statements(client_for, plant["erp"], [order(n) for n in numbers(12, "L")])[0])
    )
    newer_small = statements(client_for, plant["erp"], [order(n, 2) for n in numbers(2, "Q")])
    newer_large = statements(client_for, plant["erp"], [order(n, 2) for n in numbers(12, "L")])
    assert newer_small == newer_large == (newer_small[0], {"unchanged"})
    sent = WorkOrder.objects.exclude(erp_number="WARM/1")
    assert sent.count() == 14 and set(sent.values_list("erp_version", flat=True)) == {2}
