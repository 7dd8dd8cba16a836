"""Genealogy across five levels: backward and forward walks, the recall with its orders and
shipments, and "hold everything downstream" as one action."""

from decimal import Decimal

import pytest

from mes import services
from quality import genealogy
from quality import services as q
from quality.selectors import recall
from tests.factories import LotFactory

from .conftest import make_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_levels(p1):
    """coil -> blank -> bracket -> frame -> unit (finished), and a second branch: coil ->
    blank -> bracket2 -> unit2 (finished); a second supplier lot (bolts) into the frame."""
    coil = LotFactory(site=p1, number="COIL-1", quantity=Decimal(1000), supplier="ArcelorMittal")
    bolts = LotFactory(site=p1, number="BOLT-1", quantity=Decimal(500))
    blank = make_from(p1, [(coil, "100")], produced="BLANK-1", qty="50")
    bracket = make_from(p1, [(blank, "20")], produced="BRKT-1", qty="20")
    bracket2 = make_from(p1, [(blank, "10")], produced="BRKT-2", qty="10")
    frame = make_from(p1, [(bracket, "10"), (bolts, "40")], produced="FRAME-1", qty="10")
    unit = make_from(p1, [(frame, "10")], produced="UNIT-1", qty="10", kind="finished")
    unit2 = make_from(p1, [(bracket2, "5")], produced="UNIT-2", qty="5", kind="finished")
    return {n.number: n for n in (coil, bolts, blank, bracket, bracket2, frame, unit, unit2)}


def test_forward_and_backward_across_five_levels(five_levels, quality):
    lots = five_levels
    names = {lot.pk: n for n, lot in lots.items()}
    forward = genealogy.forward(lots["COIL-1"].pk)
    assert {names[pk]: d for pk, d in forward.depth.items()} == {
        "COIL-1": 0,
        "BLANK-1": 1,
        "BRKT-1": 2,
        "BRKT-2": 2,
        "FRAME-1": 3,
        "UNIT-2": 3,
        "UNIT-1": 4,
    }
    backward = genealogy.backward(lots["UNIT-1"].pk)
    assert {names[pk] for pk in backward.lot_ids} == {
        "FRAME-1",
        "BRKT-1",
        "BOLT-1",
        "BLANK-1",
        "COIL-1",
    }
    assert max(backward.depth.values()) == 4  # five levels: unit, frame, bracket, blank, coil
    assert genealogy.forward(lots["COIL-1"].pk, max_depth=2).depth.keys() == {
        lots[n].pk for n in ("COIL-1", "BLANK-1", "BRKT-1", "BRKT-2")
    }
    found = recall(lots["COIL-1"], quality)
    assert {lot.number for lot in found.finished_lots} == {"UNIT-1", "UNIT-2"}
    assert [(indent, lot.number) for indent, lot in found.tree()] == [
        (0, "COIL-1"),
        (1, "BLANK-1"),
        (2, "BRKT-1"),
        (3, "FRAME-1"),
        (4, "UNIT-1"),
        (2, "BRKT-2"),
        (3, "UNIT-2"),
    ]
    assert len(found.work_orders) == 6


def test_recall_reaches_customers_and_hold_downstream_holds_all_but_the_shipped(
    five_levels, quality
):
    lots = five_levels
    services.ship_lots(
        site=lots["UNIT-2"].site,
        number="DN-77",
        customer="Kunde GmbH",
        lines=[services.ShipmentSpec(lots["UNIT-2"], Decimal(5))],
        actor=None,
    )
    found = recall(lots["COIL-1"], quality)
    assert [(s.shipment.customer, s.lot.number) for s in found.shipments] == [
        ("Kunde GmbH", "UNIT-2")
    ]
    hold = q.place_hold(
        scope="supplier_lot", lot=lots["COIL-1"], reason="mill recall", actor=quality
    )
    held = dict(hold.lots.values_list("lot__number", "quantity"))
    # everything still on hand downstream of the coil: the frame went into the unit, the
    # second unit left with the customer, the bolts are not downstream of the coil
    assert held == {
        "COIL-1": Decimal(900),
        "BLANK-1": Decimal(20),
        "BRKT-1": Decimal(10),
        "BRKT-2": Decimal(5),
        "UNIT-1": Decimal(10),
    }
