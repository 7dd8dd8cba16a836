"""Replay of the plant-q3 quarter through the ERP batch endpoints, in the ERP's send order.

Master data first (items, work centers, supplier lots), then ``work_orders.json`` and
``work_order_updates.json`` in the order of ``erp_send_log.json``. The floor is simulated from
``actuals.json``: before an update is sent, an order whose first operation had started by then
is started in Andon, so a change to it must become an ``order_change`` exception.
"""

import json
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest

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


@pytest.fixture
def replayed(plant_q3, client_for):
    for site in _load(plant_q3, "sites.json"):
        SiteFactory(code=site["code"], name=site["name"], timezone=site["timezone"])
    from mes.models import Site

    erp = Erp(client_for(make_user("erp", "erp_integration", Site.objects.all())))
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
        erp.send("orders", "work-orders", pending, "erp_number")
        pending = []
        number = record["erp_number"]
        began = first_start.get(number)
        # ISO datetimes with the same offset compare as text; both are +02:00 all quarter
        if began is not None and began < entry["sent"] and number not in started:
            _start_on_the_floor(number)
            started.add(number)
        erp.send("orders", "work-orders", [record], "erp_number")
    erp.send("orders", "work-orders", pending, "erp_number")
    return {
        "answers": erp.answers,
        "orders": files["work_orders.json"],
        "updates": files["work_order_updates.json"],
        "edge": _load(plant_q3, "edge_cases.json")["orders"],
        "started": started,
        "data": plant_q3,
    }


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
