"""The ERP's batch endpoint for work orders: per-record answers, staleness, idempotency."""

import uuid

import pytest

from exceptions.models import ExceptionTicket
from mes import services
from mes.models import OutboxEvent, WorkOrder
from tests.factories import MachineFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

URL = "/api/v1/erp/work-orders/batch/"


def order(number="ZP/2026/07/0001", version=1, **over):
    record = {
        "erp_number": number,
        "site": "P1",
        "item": "SF-20259",
        "quantity": 260,
        "due_date": "2026-07-19",
        "erp_version": version,
        "operations": [
            {
                "sequence": 10,
                "work_center": "P1-FRE",
                "setup_minutes": 20,
                "run_minutes_per_unit": 0.4295,
            },
            {
                "sequence": 20,
                "work_center": "P1-MON",
                "setup_minutes": 50,
                "run_minutes_per_unit": 0.026,
            },
        ],
        "components": [{"item": "RM-30196", "quantity": 1868.1}],
    }
    record.update(over)
    return record


def send(client_for, user, orders, key=None):
    return client_for(user).post(
        URL, {"orders": orders}, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4())
    )


def statuses(response):
    return [(r["erp_number"], r["status"]) for r in response.json()["results"]]


def test_mixed_batch_answers_each_record_and_bad_ones_write_nothing(plant, client_for):
    bad = [
        order("BAD/1", quantity=-12),
        order("BAD/2", item="SF-2O394"),
        order(
            "BAD/3",
            operations=[
                {
                    "sequence": 10,
                    "work_center": "P1-SZLIF",
                    "setup_minutes": 1,
                    "run_minutes_per_unit": 1,
                }
            ],
        ),
        order(
            "BAD/4",
            operations=[
                {
                    "sequence": 10,
                    "work_center": "P2-FRA",
                    "setup_minutes": 1,
                    "run_minutes_per_unit": 1,
                }
            ],
        ),
        order("BAD/5", operations=[]),
        order("BAD/6", site="P9"),
        order("BAD/7", components=[{"item": "NOPE", "quantity": 1}]),
        order("BAD/8", due_date="19.07.2026"),
        "not an object",
    ]
    answer = send(client_for, plant["erp"], [order("GOOD/1"), *bad, order("GOOD/2")])
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["created"] + ["rejected"] * 9 + ["created"]
    codes = [r["code"] for r in results[1:-1]]
    assert codes == [
        "invalid_quantity",
        "unknown_item",
        "unknown_work_center",
        "work_center_other_site",
        "missing_operations",
        "unknown_site",
        "unknown_item",
        "invalid",
        "invalid",
    ]
    assert "quantity" in results[1]["fields"]
    assert "operations[0].work_center" in results[4]["fields"]
    assert answer.json()["summary"] == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "stale": 0,
        "rejected": 9,
    }
    assert set(WorkOrder.objects.values_list("erp_number", flat=True)) == {"GOOD/1", "GOOD/2"}
    wo = WorkOrder.objects.get(erp_number="GOOD/1")
    assert [(op.sequence, op.work_center.code) for op in wo.operations.all()] == [
        (10, "P1-FRE"),
        (20, "P1-MON"),
    ]
    assert str(wo.operations.get(sequence=10).planned_run_minutes_per_unit) == "0.4295"
    assert [(c.item.code, str(c.quantity)) for c in wo.components.all()] == [
        ("RM-30196", "1868.100")
    ]
    assert wo.erp_version == 1 and wo.status == "planned"
    # history and the outbox event, with the ERP account as actor
    assert wo.history.first().history_user == plant["erp"]
    assert wo.components.first().history.count() == 1
    event = OutboxEvent.objects.get(type="work_order.created", aggregate_id=str(wo.pk))
    assert event.actor == plant["erp"]


def test_replayed_batch_gets_the_first_answer_and_changes_nothing(plant, client_for):
    batch = [order("A/1"), order("A/2", quantity=-1)]
    first = send(client_for, plant["erp"], batch, key="batch-1")
    events = OutboxEvent.objects.count()
    again = send(client_for, plant["erp"], batch, key="batch-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert OutboxEvent.objects.count() == events
    # the same batch under a new key: the orders are there already, identical
    resent = send(client_for, plant["erp"], batch, key="batch-2")
    assert statuses(resent) == [("A/1", "unchanged"), ("A/2", "rejected")]
    assert OutboxEvent.objects.count() == events
    reused = send(client_for, plant["erp"], [order("A/3")], key="batch-1")
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


def test_versions_update_stale_and_conflict(plant, client_for):
    send(client_for, plant["erp"], [order("V/1", version=2)])
    wo = WorkOrder.objects.get(erp_number="V/1")
    services.release_work_order(wo, actor=None)
    changed = order(
        "V/1",
        version=3,
        quantity=300,
        due_date="2026-07-25",
        operations=[
            {
                "sequence": 10,
                "work_center": "P1-FRE",
                "setup_minutes": 20,
                "run_minutes_per_unit": 0.4295,
            },
            {
                "sequence": 30,
                "work_center": "P1-MON",
                "setup_minutes": 10,
                "run_minutes_per_unit": 1,
            },
        ],
    )
    answer = send(client_for, plant["erp"], [changed, order("V/1", version=1, quantity=5)])
    first, second = answer.json()["results"]
    assert first["status"] == "updated" and first["applied"] is True
    assert first["changed"] == ["quantity", "due_date", "routing"]
    assert second["status"] == "stale" and second["erp_version"] == 3
    wo.refresh_from_db()
    assert (wo.planned_qty, str(wo.due_date), wo.erp_version) == (300, "2026-07-25", 3)
    assert list(wo.operations.values_list("sequence", flat=True)) == [10, 30]
    assert wo.operations.get(sequence=30).dispatch_rank is not None  # released: queued at once
    assert (
        OutboxEvent.objects.filter(type="work_order.revised", aggregate_id=str(wo.pk)).count() == 1
    )
    conflict = send(client_for, plant["erp"], [order("V/1", version=3, quantity=1)])
    assert conflict.json()["results"][0]["code"] == "version_conflict"
    same = send(client_for, plant["erp"], [changed])
    assert statuses(same) == [("V/1", "unchanged")]


def test_change_to_a_started_order_raises_order_change_and_rewrites_nothing(plant, client_for, p1):
    send(client_for, plant["erp"], [order("S/1")])
    wo = WorkOrder.objects.get(erp_number="S/1")
    services.release_work_order(wo, actor=None)
    machine = MachineFactory(work_center=plant["wc"], site=p1)
    services.start_operation(wo.operations.get(sequence=10), actor=None, machine=machine)
    update = order("S/1", version=2, quantity=400)
    answer = send(client_for, plant["erp"], [update])
    result = answer.json()["results"][0]
    assert result["status"] == "updated" and result["applied"] is False
    ticket = ExceptionTicket.objects.get(number=result["order_change"])
    assert ticket.type.code == "order_change" and ticket.work_order == wo
    assert ticket.data == {"change": "quantity", "new_quantity": 400.0}
    assert ticket.raised_via == "erp" and ticket.external_refs["erp_version"] == 2
    wo.refresh_from_db()
    assert wo.planned_qty == 260 and wo.erp_version == 2
    # the ERP resends the same version: nothing new
    again = send(client_for, plant["erp"], [update])
    assert statuses(again) == [("S/1", "unchanged")]
    assert ExceptionTicket.objects.filter(type__code="order_change").count() == 1
    # cancelling a started order is a decision too
    cancel = send(client_for, plant["erp"], [order("S/1", version=3, status="cancelled")])
    result = cancel.json()["results"][0]
    assert result["applied"] is False and result["order_change"]
    wo.refresh_from_db()
    assert wo.status == "in_progress"


def test_cancellation_of_an_order_not_started_cancels_it(plant, client_for):
    send(client_for, plant["erp"], [order("C/1")])
    answer = send(client_for, plant["erp"], [order("C/1", version=2, status="cancelled")])
    assert statuses(answer) == [("C/1", "updated")]
    wo = WorkOrder.objects.get(erp_number="C/1")
    assert wo.status == "cancelled" and wo.erp_version == 2
    assert statuses(
        send(client_for, plant["erp"], [order("C/1", version=2, status="cancelled")])
    ) == [("C/1", "unchanged")]
    late = send(client_for, plant["erp"], [order("C/1", version=3, quantity=5)])
    assert late.json()["results"][0]["code"] == "work_order_cancelled"
    unknown = send(client_for, plant["erp"], [order("C/404", status="cancelled")])
    assert unknown.json()["results"][0]["code"] == "unknown_work_order"


def test_wrong_role_wrong_site_bad_envelope_and_missing_key(plant, client_for):
    assert send(client_for, plant["planner"], [order()]).status_code == 403
    assert client_for(None).post(URL, {"orders": [order()]}, format="json").status_code == 401
    other_site = send(
        client_for,
        plant["p1_only"],
        [
            order(
                site="P2",
                operations=[
                    {
                        "sequence": 10,
                        "work_center": "P2-FRA",
                        "setup_minutes": 1,
                        "run_minutes_per_unit": 1,
                    }
                ],
            )
        ],
    )
    assert other_site.json()["results"][0]["code"] == "wrong_site"
    no_key = client_for(plant["erp"]).post(URL, {"orders": [order()]}, format="json")
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"
    for body, code in [
        ({"orders": []}, "invalid_batch"),
        ({"orders": "x"}, "invalid_batch"),
        ([1, 2], "invalid_batch"),
        ({"orders": [order(f"N/{i}") for i in range(1001)]}, "batch_too_large"),
    ]:
        answer = client_for(plant["erp"]).post(
            URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        assert answer.status_code == 400 and answer.json()["code"] == code
    assert not WorkOrder.objects.exists()


def test_when_the_bulk_create_fails_each_new_order_is_answered_on_its_own(
    plant, client_for, monkeypatch
):
    from django.db import IntegrityError

    from mes import services as mes_services

    one_by_one = mes_services.create_work_orders

    def clash(orders, *, actor):
        if len(orders) > 1:
            raise IntegrityError("a concurrent batch created one of them")
        return one_by_one(orders, actor=actor)

    monkeypatch.setattr(mes_services, "create_work_orders", clash)
    answer = send(client_for, plant["erp"], [order("F/1"), order("F/2", quantity=0), order("F/3")])
    assert statuses(answer) == [("F/1", "created"), ("F/2", "rejected"), ("F/3", "created")]
    assert WorkOrder.objects.get(erp_number="F/1").operations.count() == 2


def test_an_order_sent_twice_in_one_batch_is_created_then_updated(plant, client_for):
    answer = send(client_for, plant["erp"], [order("T/1"), order("T/1", version=2, quantity=7)])
    assert statuses(answer) == [("T/1", "created"), ("T/1", "updated")]
    assert WorkOrder.objects.get(erp_number="T/1").planned_qty == 7
