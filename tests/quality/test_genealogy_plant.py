"""Genealogy of the plant-q3 quarter: its master data, lots and orders sent as the ERP sends
them, its ``actuals.json`` confirmed on the floor in the order the operations ended; then the
recall of supplier lots is checked against a brute-force walk of the file itself."""

import json
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest

from mes import services
from mes.models import Lot, Operation, Site, WorkOrder
from quality import genealogy
from quality import services as q
from quality.models import QualityHold
from quality.selectors import recall
from tests.factories import SiteFactory, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


def _load(path, name):
    return json.loads((path / name).read_text(encoding="utf-8"))


def _send(client, kind, url, records):
    for start in range(0, len(records), 1000):
        answer = client.post(
            f"/api/v1/erp/{url}/batch/",
            {kind: records[start : start + 1000]},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        assert answer.status_code == 200, answer.content[:300]


def _brute_force(actuals):
    """lot -> the lots made from it, from the file alone: an order's consumed lots went into
    every lot the order produced."""
    consumed, produced = defaultdict(set), defaultdict(set)
    for actual in actuals:
        for use in actual["consumed_lots"]:
            consumed[actual["erp_number"]].add(use["lot"])
        if actual["produced_lot"]:
            produced[actual["erp_number"]].add(actual["produced_lot"])
    into = defaultdict(set)
    for number, lots in consumed.items():
        for lot in lots:
            into[lot] |= produced[number]
    return into


def _walk(edges, start):
    seen, todo = set(), [start]
    while todo:
        for child in edges.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


@pytest.fixture
def quarter(plant_q3, client_for):
    for site in _load(plant_q3, "sites.json"):
        SiteFactory(code=site["code"], name=site["name"], timezone=site["timezone"])
    sites = Site.objects.all()
    erp = client_for(make_user("erp", "erp_integration", sites))
    _send(erp, "items", "items", _load(plant_q3, "items.json"))
    _send(erp, "work_centers", "work-centers", _load(plant_q3, "work_centers.json"))
    _send(erp, "lots", "lots", _load(plant_q3, "lots.json"))
    _send(erp, "orders", "work-orders", _load(plant_q3, "work_orders.json")["orders"])
    # Lots received without their certificate were held on arrival; the plant used some of
    # them, so quality released them first (as it would, once the certificates came).
    inspector = make_user("inspector", "quality", sites)
    for hold in QualityHold.objects.filter(status="active"):
        q.decide(hold, kind="release", reason="certificate received", actor=inspector)

    actuals = _load(plant_q3, "actuals.json")
    last = {(a["erp_number"], a["sequence"]): i for i, a in enumerate(actuals)}
    orders = {wo.erp_number: wo for wo in WorkOrder.objects.select_related("site")}
    for index, actual in enumerate(actuals):
        wo = orders[actual["erp_number"]]
        if wo.status == "planned":
            orders[wo.erp_number] = wo = services.release_work_order(wo, actor=None)
        op = Operation.objects.get(work_order=wo, sequence=actual["sequence"])
        services.confirm_operation(
            op,
            actor=None,
            good_qty=actual["good"],
            scrap_qty=actual["scrap"],
            final=last[(actual["erp_number"], actual["sequence"])] == index,
            consumed=[
                services.Consumption(
                    Lot.objects.get(site=wo.site, number=use["lot"]), Decimal(str(use["quantity"]))
                )
                for use in actual["consumed_lots"]
            ],
            produced_lot=actual["produced_lot"],
        )
    return {
        "into": _brute_force(actuals),
        "supplier_lots": [lot["number"] for lot in _load(plant_q3, "lots.json")],
        "finished": {i["code"] for i in _load(plant_q3, "items.json") if i["kind"] == "finished"},
        "reader": make_user("reader", "quality", sites),
    }


def test_recall_of_supplier_lots_finds_exactly_the_finished_lots_that_contain_them(quarter):
    into, finished, reader = quarter["into"], quarter["finished"], quarter["reader"]
    lots = {lot.number: lot for lot in Lot.objects.select_related("item")}
    deepest = 0
    checked = 0
    for number in quarter["supplier_lots"]:
        expected = _walk(into, number)
        found = recall(lots[number], reader)
        assert {lot.number for lot in found.lots} == expected, number
        assert {lot.number for lot in found.finished_lots} == {
            n for n in expected if lots[n].item.code in finished
        }, number
        deepest = max(deepest, max(found.depth.values()))
        checked += bool(expected)
    assert checked > 500 and deepest >= 4  # supplier lot -> 4 more levels -> finished lot
    # (one test: loading the quarter through the services takes two minutes)
    _backward_genealogy_of_finished_lots_matches_the_file(quarter)


def _backward_genealogy_of_finished_lots_matches_the_file(quarter):
    into = quarter["into"]
    made_from = defaultdict(set)
    for parent, children in into.items():
        for child in children:
            made_from[child].add(parent)
    lots = {lot.pk: lot.number for lot in Lot.objects.all()}
    numbers = {number: pk for pk, number in lots.items()}
    finished = Lot.objects.filter(item__kind="finished", work_order__isnull=False)
    assert finished.count() > 100
    for lot in finished:
        walk = genealogy.backward(lot.pk)
        assert {lots[pk] for pk in walk.lot_ids} == _walk(made_from, lot.number), lot.number
    # A hold on a supplier lot holds what it went into, as the walk says.
    steel = max(quarter["supplier_lots"], key=lambda n: len(_walk(into, n)))
    hold = q.place_hold(
        scope="supplier_lot",
        lot=Lot.objects.get(pk=numbers[steel]),
        reason="mill recall",
        actor=quarter["reader"],
    )
    held = set(hold.lots.values_list("lot__number", flat=True))
    free = set(
        Lot.objects.filter(number__in=_walk(into, steel) | {steel}, quantity__gt=0).values_list(
            "number", flat=True
        )
    )
    assert held == free
