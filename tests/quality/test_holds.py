"""Quality holds: placing one holds exactly its quantity, held quantity is refused on every
core path, and only quality releases or dispositions it, with a reason."""

from decimal import Decimal

import pytest

from mes import services
from mes.errors import DomainError, InvalidInput, NotPermitted
from mes.models import Lot, Operation, OutboxEvent
from quality import services as q
from quality.models import HoldDecision, QualityHold, SiteQualityPolicy
from tests.factories import LotFactory, WorkCenterFactory, make_work_order

pytestmark = pytest.mark.django_db


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def types() -> list[str]:
    return list(OutboxEvent.objects.order_by("pk").values_list("type", flat=True))


def test_a_partial_hold_holds_its_quantity_with_history_and_event(p1, quality):
    lot = LotFactory(site=p1, quantity=Decimal(100))
    hold = q.place_hold(scope="lot", lot=lot, quantity="30", reason="burr", actor=quality)
    lot = fresh(lot)
    assert (lot.held_qty, lot.free_qty, lot.status) == (Decimal(30), Decimal(70), "available")
    assert hold.status == "active" and hold.placed_by == quality
    assert [(h.lot_id, h.quantity, h.open_qty) for h in hold.lots.all()] == [
        (lot.pk, Decimal(30), Decimal(30))
    ]
    record = lot.history.first()
    assert record.held_qty == Decimal(30) and record.history_change_reason == "burr"
    event = OutboxEvent.objects.get(type="quality_hold.placed")
    assert event.payload["lots"] == [
        {"lot": lot.number, "item": lot.item.code, "quantity": "30.000"}
    ]
    assert event.actor == quality and hold.history.count() == 1


def test_held_quantity_is_refused_by_consumption_shipment_and_scrap(p1, quality):
    lot = LotFactory(site=p1, quantity=Decimal(100))
    q.place_hold(scope="lot", lot=lot, quantity="30", reason="burr", actor=quality)
    wo = make_work_order(p1, status="released", operations=1)
    op = wo.operations.get()
    with pytest.raises(DomainError) as refused:
        services.confirm_operation(
            op, actor=None, good_qty=1, consumed=[services.Consumption(lot, Decimal(71))]
        )
    assert (refused.value.status, refused.value.code) == (409, "lot_on_hold")
    with pytest.raises(DomainError) as refused:
        services.ship_lots(
            site=p1,
            number="DN-1",
            customer="ACME",
            lines=[services.ShipmentSpec(lot, Decimal(80))],
            actor=None,
        )
    assert refused.value.code == "lot_on_hold"
    with pytest.raises(DomainError) as refused:
        services.scrap_lot(lot, quantity=75, actor=None, reason="dropped")
    assert refused.value.code == "lot_on_hold"
    # The free part is usable; nothing of the refused attempts was written.
    services.confirm_operation(
        op, actor=None, good_qty=1, consumed=[services.Consumption(lot, Decimal(70))]
    )
    assert fresh(lot).quantity == Decimal(30) and fresh(lot).status == "on_hold"
    assert not OutboxEvent.objects.filter(type__in=["shipment.shipped", "lot.scrapped"]).exists()


def test_a_hold_on_a_work_order_refuses_its_confirmations_until_released(p1, quality):
    wo = make_work_order(p1, status="released", operations=1)
    op = wo.operations.get()
    hold = q.place_hold(scope="work_order", work_order=wo, reason="wrong drawing", actor=quality)
    assert fresh(wo).quality_holds == 1
    with pytest.raises(DomainError) as refused:
        services.confirm_operation(op, actor=None, good_qty=5)
    assert refused.value.code == "lot_on_hold"
    q.decide(hold, kind="release", reason="drawing checked", actor=quality)
    assert fresh(wo).quality_holds == 0 and fresh(hold).status == "released"
    services.confirm_operation(op, actor=None, good_qty=5)


def test_a_hold_on_an_operation_holds_its_lots_and_its_confirmations(p1, quality):
    wo = make_work_order(p1, status="released", operations=2)
    first, second = wo.operations.order_by("sequence")
    services.confirm_operation(first, actor=None, good_qty=5, produced_lot="OP-LOT")
    q.place_hold(
        scope="operation", operation=first, reason="gauge out of calibration", actor=quality
    )
    assert fresh(Lot.objects.get(number="OP-LOT")).status == "on_hold"
    with pytest.raises(DomainError):
        services.confirm_operation(first, actor=None, good_qty=1)
    services.confirm_operation(second, actor=None, good_qty=1)  # the other operation works


def test_all_lots_of_an_item_are_held(p1, quality):
    one = LotFactory(site=p1)
    two = LotFactory(site=p1, item=one.item)
    other = LotFactory(site=p1)
    hold = q.place_hold(
        scope="item", item=one.item, site=p1, reason="supplier alert", actor=quality
    )
    assert sorted(hold.lots.values_list("lot_id", flat=True)) == [one.pk, two.pk]
    assert fresh(other).held_qty == 0


def test_everything_made_from_a_supplier_lot_is_held(chain, quality):
    hold = q.place_hold(
        scope="supplier_lot", lot=chain["steel"], reason="mill certificate wrong", actor=quality
    )
    held = {h.lot.number: h.quantity for h in hold.lots.select_related("lot")}
    assert held == {"STEEL-1": Decimal(80), "BRK-1": Decimal(5), "KIT-1": Decimal(10)}


def test_who_may_place_and_decide(p1, p2, user_in, quality, supervisor):
    lot = LotFactory(site=p1)
    operator = user_in("operator", p1)
    with pytest.raises(NotPermitted):
        q.place_hold(scope="lot", lot=lot, reason="x", actor=operator)
    hold = q.place_hold(scope="lot", lot=lot, reason="looks bent", actor=supervisor)
    # release by a non-quality role: 403
    with pytest.raises(NotPermitted) as refused:
        q.decide(hold, kind="release", reason="fine", actor=supervisor)
    assert refused.value.status == 403
    # quality of another site: 403 wrong_site
    with pytest.raises(NotPermitted) as refused:
        q.decide(hold, kind="release", reason="fine", actor=user_in("quality", p2))
    assert refused.value.code == "wrong_site"
    # without a reason: 400
    with pytest.raises(InvalidInput) as refused:
        q.decide(hold, kind="release", reason="  ", actor=quality)
    assert (refused.value.status, refused.value.code) == (400, "reason_required")
    assert fresh(lot).held_qty == lot.quantity and not HoldDecision.objects.exists()


def test_two_person_rule_refuses_the_placer(p1, user_in, quality):
    SiteQualityPolicy.objects.create(site=p1, two_person_release=True)
    lot = LotFactory(site=p1)
    hold = q.place_hold(scope="lot", lot=lot, reason="scratches", actor=quality)
    with pytest.raises(NotPermitted) as refused:
        q.decide(hold, kind="release", reason="polished out", actor=quality)
    assert (refused.value.status, refused.value.code) == (403, "two_person_rule")
    q.decide(hold, kind="release", reason="polished out", actor=user_in("quality", p1))
    assert fresh(hold).status == "released"


def test_partial_release_then_scrap_closes_the_hold_dispositioned(p1, quality):
    lot = LotFactory(site=p1, quantity=Decimal(100))
    hold = q.place_hold(scope="lot", lot=lot, reason="porosity", actor=quality)
    q.review_hold(hold, reason="sampling", actor=quality)
    q.decide(hold, kind="release", lot=lot, quantity="60", reason="X-ray ok", actor=quality)
    assert fresh(hold).status == "under_review"
    assert (fresh(lot).held_qty, fresh(lot).status) == (Decimal(40), "available")
    q.decide(hold, kind="scrap", lot=lot, reason="porous", actor=quality)
    lot, hold = fresh(lot), fresh(hold)
    assert (lot.quantity, lot.held_qty, lot.status) == (Decimal(60), 0, "available")
    assert hold.status == "dispositioned" and hold.closed_at is not None
    scrapped = OutboxEvent.objects.get(type="lot.scrapped")
    assert scrapped.payload["quantity"] == "40.000" and scrapped.payload["remaining"] == "60.000"
    disposed = OutboxEvent.objects.get(type="lot.dispositioned")
    assert disposed.payload["disposition"] == "scrap" and disposed.payload["closed"] is True
    assert OutboxEvent.objects.get(type="quality_hold.released").payload["closed"] is False
    with pytest.raises(DomainError) as refused:
        q.decide(hold, kind="release", reason="again", actor=quality)
    assert refused.value.code == "hold_closed"


def test_sort_splits_into_released_and_scrapped(p1, quality):
    lot = LotFactory(site=p1, quantity=Decimal(50))
    hold = q.place_hold(scope="lot", lot=lot, reason="mixed parts", actor=quality)
    with pytest.raises(InvalidInput):
        q.decide(hold, kind="sort", lot=lot, released_qty="51", reason="sorted", actor=quality)
    decision = q.decide(
        hold, kind="sort", lot=lot, released_qty="45", reason="sorted", actor=quality
    )
    assert (decision.released_qty, decision.scrapped_qty) == (Decimal(45), Decimal(5))
    lot = fresh(lot)
    assert (lot.quantity, lot.held_qty, lot.free_qty) == (Decimal(45), 0, Decimal(45))


def test_return_to_vendor_and_use_as_is(p1, quality):
    bought = LotFactory(site=p1, quantity=Decimal(20), supplier="Centrostal")
    hold = q.place_hold(scope="lot", lot=bought, reason="wrong grade", actor=quality)
    q.decide(hold, kind="return", lot=bought, quantity="15", reason="RMA 77", actor=quality)
    q.decide(hold, kind="use_as_is", lot=bought, reason="deviation D-3", actor=quality)
    bought = fresh(bought)
    assert (bought.quantity, bought.held_qty, bought.status) == (Decimal(5), 0, "available")
    returned = OutboxEvent.objects.get(type="lot.returned")
    assert returned.payload["supplier"] == "Centrostal" and returned.payload["quantity"] == "15.000"


def test_rework_adds_an_operation_to_the_order_that_made_the_lot(p1, quality):
    wc = WorkCenterFactory(site=p1)
    wo = make_work_order(p1, status="released", operations=1, work_centers=[wc], qty="10")
    services.confirm_operation(
        wo.operations.get(), actor=None, good_qty=10, final=True, produced_lot="MADE-1"
    )
    services.complete_work_order(wo, actor=None)
    made = Lot.objects.get(number="MADE-1")
    hold = q.place_hold(scope="lot", lot=made, reason="burrs", actor=quality)
    decision = q.decide(hold, kind="rework", lot=made, quantity="4", reason="deburr", actor=quality)
    op = decision.rework_operation
    assert (op.sequence, op.status, op.work_center, op.dispatch_rank) == (20, "queued", wc, 1)
    assert fresh(wo).status == "in_progress"
    made = fresh(made)
    assert (made.quantity, made.held_qty) == (Decimal(6), Decimal(6))
    added = OutboxEvent.objects.get(type="operation.added")
    assert added.payload["lot"] == "MADE-1" and added.payload["previous_status"] == "completed"
    # The reworked quantity comes back by confirming the new operation.
    services.confirm_operation(
        Operation.objects.get(pk=op.pk), actor=None, good_qty=4, final=True, produced_lot="MADE-1R"
    )
    assert Lot.objects.get(number="MADE-1R").quantity == Decimal(4)


def test_a_supplier_lot_cannot_be_reworked(p1, quality):
    bought = LotFactory(site=p1)
    hold = q.place_hold(scope="lot", lot=bought, reason="rust", actor=quality)
    with pytest.raises(DomainError) as refused:
        q.decide(hold, kind="rework", lot=bought, reason="grind", actor=quality)
    assert refused.value.code == "not_made_here"


def test_a_lot_without_its_certificate_is_held_on_receipt(p1, user_in):
    from tests.factories import ItemFactory

    needs = ItemFactory(kind="raw", requires_certificate=True)
    receiver = user_in("procurement", p1)
    held = services.receive_lot(site=p1, number="C-1", item=needs, quantity=10, actor=receiver)
    fine = services.receive_lot(
        site=p1, number="C-2", item=needs, quantity=10, certificate="3.1-99", actor=receiver
    )
    assert (fresh(held).held_qty, fresh(held).status) == (Decimal(10), "on_hold")
    assert fresh(fine).held_qty == 0
    hold = QualityHold.objects.get()
    assert hold.lot == held and hold.placed_by is None and "certificate" in hold.reason
    assert types().index("lot.received") < types().index("quality_hold.placed")


def test_a_lot_of_an_item_on_hold_joins_the_hold_as_it_arrives_or_is_made(p1, user_in, quality):
    from tests.factories import ItemFactory

    bar = ItemFactory(kind="raw")
    first = LotFactory(site=p1, item=bar, quantity=Decimal(5))
    hold = q.place_hold(scope="item", item=bar, site=p1, reason="supplier alert", actor=quality)
    receiver = user_in("procurement", p1)
    late = services.receive_lot(site=p1, number="B-9", item=bar, quantity=7, actor=receiver)
    assert (fresh(late).held_qty, fresh(late).status) == (Decimal(7), "on_hold")
    elsewhere = services.receive_lot(
        site=LotFactory().site, number="B-10", item=bar, quantity=7, actor=None
    )
    assert fresh(elsewhere).held_qty == 0  # the hold is of one site
    wo = make_work_order(p1, status="released", operations=1, item=bar, qty="3")
    services.confirm_operation(
        wo.operations.get(), actor=None, good_qty=3, final=True, produced_lot="B-MADE"
    )
    made = Lot.objects.get(number="B-MADE")
    assert (made.held_qty, made.status) == (Decimal(3), "on_hold")
    hold = fresh(hold)
    assert sorted(hold.lots.values_list("lot__number", "open_qty")) == [
        ("B-9", Decimal(7)),
        ("B-MADE", Decimal(3)),
        (first.number, Decimal(5)),
    ]
    assert hold.version == 3 and hold.history.count() == 3
    extended = OutboxEvent.objects.filter(type="quality_hold.extended").order_by("pk")
    assert [e.payload["lots"][0]["lot"] for e in extended] == ["B-9", "B-MADE"]
    events = types()
    assert events[events.index("lot.produced") + 1] == "quality_hold.extended"
    assert "joins" in fresh(late).history.first().history_change_reason
    q.decide(hold, kind="release", reason="supplier cleared it", actor=user_in("quality", p1))
    services.receive_lot(site=p1, number="B-11", item=bar, quantity=2, actor=receiver)
    assert Lot.objects.get(number="B-11").held_qty == 0  # a released hold holds no more


def test_a_lot_correction_cannot_free_held_quantity(p1, quality):
    lot = LotFactory(site=p1)
    q.place_hold(scope="lot", lot=lot, reason="x", actor=quality)
    lot = fresh(lot)
    lot.held_qty = 0
    lot.status = "available"
    with pytest.raises(DomainError) as refused:
        services.save_master_record(lot, actor=None, reason="fix")
    assert refused.value.code == "lot_fact"


def test_an_action_is_done_by_its_owner_only_while_they_see_the_site(p1, user_in, quality):
    import datetime

    from django.utils import timezone

    from mes.models.access import revoke_site_access

    nc = q.open_nonconformance(site=p1, title="Burrs", actor=quality)
    owner = user_in("maintenance", p1)
    due = timezone.now() + datetime.timedelta(days=3)
    first = q.add_action(
        nc, actor=quality, kind="corrective", description="New insert", owner=owner, due_at=due
    )
    second = q.add_action(
        nc, actor=quality, kind="preventive", description="Tool life", owner=owner, due_at=due
    )
    assert q.complete_action(first, actor=owner).done_at is not None
    revoke_site_access(owner, p1)
    with pytest.raises(NotPermitted) as refused:
        q.complete_action(second, actor=type(owner).objects.get(pk=owner.pk))
    assert refused.value.code == "wrong_site"
    assert fresh(second).done_at is None
