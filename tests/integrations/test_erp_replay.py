"""Replay of the plant-q3 quarter through the ERP batch endpoints, in the ERP's send order.

Master data first (items, work centers, supplier lots), then ``work_orders.json`` and
``work_order_updates.json`` in the order of ``erp_send_log.json``. The floor is simulated from
``actuals.json``: before an update is sent, an order whose first operation had started by then
is started in Andon, so a change to it must become an ``order_change`` exception.

Issue 13: sent in batches of up to 1,000 records as the ERP sends them, the quarter ends as it
does sent one update at a time (every order, every decision, every record's answer).
"""

import json
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction

from exceptions.models import ExceptionTicket
from mes import services
from mes.models import Item, Lot, WorkCenter, WorkOrder
from tests.factories import SiteFactory, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

BATCH = 1000


def _load(path, name):
    return json.loads((path / name).read_text(encoding="utf-8"))


class Erp:
    """The ERP side of the replay: posts batches and keeps every answer by key."""

    def __init__(self, client):
        self.client = client
        self.answers = defaultdict(list)  # (kind, key) -> [result, ...] in send order

    def send(self, kind, url, records, key_field):
        for start in range(0, len(records), BATCH):
            chunk = records[start : start + BATCH]
            answer = self.client.post(
                f"/api/v1/erp/{url}/batch/",
                {kind: chunk},
                format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
            )
            assert answer.status_code == 200, answer.content[:500]
            results = answer.json()["results"]
            assert len(results) == len(chunk)
            for record, result in zip(chunk, results, strict=True):
                self.answers[(kind, record[key_field])].append(result)
        return self


def _start_on_the_floor(number: str):
    wo = WorkOrder.objects.get(erp_number=number)
    if wo.status == "planned":
        services.release_work_order(wo, actor=None, reason="floor replay")
    first = wo.operations.order_by("sequence").first()
    if first.status == "queued":
        services.start_operation(first, actor=None, reason="floor replay")


def replay(plant_q3, erp: Erp, *, batched: bool) -> dict:
    """Master data, then the orders and updates in the ERP's send order: one update per
    request (``batched`` False: new orders between updates are sent together), or batches of
    up to ``BATCH`` records of any kind, cut only where the floor starts an order before an
    update of it is sent."""
    erp.send("items", "items", _load(plant_q3, "items.json"), "code")
    erp.send("work_centers", "work-centers", _load(plant_q3, "work_centers.json"), "code")
    erp.send("lots", "lots", _load(plant_q3, "lots.json"), "number")

    files = {
        "work_orders.json": _load(plant_q3, "work_orders.json")["orders"],
        "work_order_updates.json": _load(plant_q3, "work_order_updates.json")["orders"],
    }
    first_start = {}
    for actual in _load(plant_q3, "actuals.json"):
        number = actual["erp_number"]
        first_start[number] = min(first_start.get(number, actual["started"]), actual["started"])
    started = set()
    pending = []
    for entry in _load(plant_q3, "erp_send_log.json"):
        record = files[entry["file"]][entry["index"]]
        assert record["erp_number"] == entry["erp_number"]
        if entry["file"] == "work_orders.json":
            pending.append(record)
            continue
        number = record["erp_number"]
        began = first_start.get(number)
        # ISO datetimes with the same offset compare as text; both are +02:00 all quarter
        if began is not None and began < entry["sent"] and number not in started:
            erp.send("orders", "work-orders", pending, "erp_number")
            pending = []
            _start_on_the_floor(number)
            started.add(number)
        if batched:
            pending.append(record)
        else:
            erp.send("orders", "work-orders", [*pending, record], "erp_number")
            pending = []
    erp.send("orders", "work-orders", pending, "erp_number")
    return {
        "answers": erp.answers,
        "orders": files["work_orders.json"],
        "updates": files["work_order_updates.json"],
        "edge": _load(plant_q3, "edge_cases.json")["orders"],
        "started": started,
        "data": plant_q3,
    }


def _final_state() -> dict:
    """What the replay leaves: every order as the floor sees it, and the decisions raised."""
    orders = {
        wo.erp_number: (
            wo.status,
            str(wo.planned_qty),
            wo.erp_version,
            str(wo.due_date),
            tuple((op.sequence, op.work_center.code, op.status) for op in wo.operations.all()),
        )
        for wo in WorkOrder.objects.prefetch_related("operations__work_center")
    }
    decisions = sorted(
        ExceptionTicket.objects.filter(type__code="order_change").values_list(
            "work_order__erp_number", "external_refs__erp_version", "data"
        ),
        key=str,
    )
    return {"orders": orders, "decisions": decisions}


def _statuses(answers) -> dict:
    return {
        key: [(r["status"], r.get("code"), r.get("applied")) for r in results]
        for key, results in answers.items()
    }


@pytest.fixture
def replayed(plant_q3, client_for):
    """The quarter replayed in batches, after checking that it ends as the replay one update
    at a time does (undone), record by record and order by order."""
    for site in _load(plant_q3, "sites.json"):
        SiteFactory(code=site["code"], name=site["name"], timezone=site["timezone"])
    from mes.models import Site

    client = client_for(make_user("erp", "erp_integration", Site.objects.all()))
    with transaction.atomic():
        one_by_one = replay(plant_q3, Erp(client), batched=False)
        expected = (_final_state(), _statuses(one_by_one["answers"]))
        transaction.set_rollback(True)
    batched = replay(plant_q3, Erp(client), batched=True)
    final, statuses = _final_state(), _statuses(batched["answers"])
    assert final["orders"] == expected[0]["orders"]
    assert final["decisions"] == expected[0]["decisions"]
    assert statuses == expected[1]
    return batched


def test_plant_q3_replay(replayed):
    answers, edge = replayed["answers"], replayed["edge"]

    def statuses(number):
        return [r["status"] for r in answers[("orders", number)]]

    # master data: every record lands once
    assert Item.objects.count() == len(_load(replayed["data"], "items.json"))
    assert WorkCenter.objects.count() == len(_load(replayed["data"], "work_centers.json"))
    assert Lot.objects.count() == len(_load(replayed["data"], "lots.json"))
    assert all(
        [r["status"] for r in results] == ["created"]
        for (kind, _), results in answers.items()
        if kind != "orders"
    )

    # every invalid record is rejected with its reason, and nothing of it is written
    reasons = {
        "invalid_negative_quantity": "invalid_quantity",
        "invalid_unknown_item": "unknown_item",
        "invalid_unknown_work_center": "unknown_work_center",
        "invalid_work_center_other_site": "work_center_other_site",
        "invalid_missing_operations": "missing_operations",
    }
    invalid = set()
    for case, code in reasons.items():
        for number in edge[case]:
            invalid.add(number)
            assert [r.get("code") for r in answers[("orders", number)]] == [code], number
    assert not WorkOrder.objects.filter(erp_number__in=invalid).exists()

    # every valid order lands with its operations and components, as first sent or as updated
    latest = {}
    for record in replayed["orders"]:
        latest[record["erp_number"]] = record
    valid = [r for number, r in latest.items() if number not in invalid]
    assert WorkOrder.objects.count() == len(valid)
    stored = {
        wo.erp_number: wo
        for wo in WorkOrder.objects.prefetch_related("operations__work_center", "components")
    }
    for record in valid:
        wo = stored[record["erp_number"]]
        assert [(op.sequence, op.work_center.code) for op in wo.operations.all()] == [
            (op["sequence"], op["work_center"]) for op in record["operations"]
        ], record["erp_number"]
        assert len(wo.components.all()) == len(record["components"])

    # updates: applied to orders not started, answered per their version
    for number in edge["invalid_update"]:
        assert "rejected" in statuses(number)
        first = next(r for r in replayed["orders"] if r["erp_number"] == number)
        wo = stored[number]
        assert wo.planned_qty == Decimal(str(first["quantity"]))  # the earlier version stands
    for number in edge["stale_update"]:
        assert "stale" in statuses(number), number
    for number in edge["resent_unchanged"]:
        assert statuses(number)[-1] == "unchanged", number
    # "started" holds the orders whose change reached Andon after the floor had started them
    # (edge_cases' cancelled_after_start also counts an order the floor started only after
    # the cancellation arrived: Andon cancelled it in time, so the floor could not start it)
    changed = ExceptionTicket.objects.filter(type__code="order_change")
    order_changes = set(changed.values_list("work_order__erp_number", flat=True))
    assert set(edge["updated_while_in_progress"]) <= order_changes <= replayed["started"]
    for number in edge["cancelled"]:
        if number in replayed["started"]:
            assert stored[number].status != "cancelled", number
            assert number in order_changes
        else:
            assert stored[number].status == "cancelled", number
    after_start = set(edge["updated_while_in_progress"]) | set(edge["cancelled_after_start"])
    for number in set(edge["updated_quantity"]) - after_start - set(edge["invalid_update"]):
        sent = [
            u
            for u in replayed["updates"]
            if u["erp_number"] == number and u.get("status") != "cancelled"
        ]
        top = max(sent, key=lambda u: u["erp_version"])
        assert stored[number].planned_qty == Decimal(str(top["quantity"])), number
        assert stored[number].erp_version == top["erp_version"]

    # one order_change exception per order and ERP version, however often it was sent
    pairs = list(changed.values_list("work_order__erp_number", "external_refs__erp_version"))
    assert len(pairs) == len(set(pairs))
