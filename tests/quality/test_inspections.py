"""An out-of-spec result opens one non-conformance, raises one ``out_of_spec`` exception and,
through the rules, places one hold on the inspected lot."""

from decimal import Decimal

import pytest

from exceptions.models import ExceptionTicket
from mes import services
from mes.errors import InvalidInput, NotPermitted
from mes.models import Lot, OutboxEvent
from quality import services as q
from quality.models import Characteristic, DefectCode, InspectionPlan, NonConformance, QualityHold
from tests.factories import make_work_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan_for(db):
    def make(item, sequence=10):
        plan = InspectionPlan.objects.create(name="Turning", item=item, operation_sequence=sequence)
        diameter = Characteristic.objects.create(
            plan=plan,
            name="Ø 20",
            nominal=Decimal("20.00"),
            lower_limit=Decimal("19.95"),
            upper_limit=Decimal("20.05"),
            unit="mm",
            decimals=2,
        )
        burr = Characteristic.objects.create(
            plan=plan, name="Burr-free", kind="attribute", position=1
        )
        code = DefectCode.objects.create(code="BURR", name="Burr")
        burr.defect_codes.add(code)
        return diameter, burr, code

    return make


@pytest.fixture
def made(p1):
    wo = make_work_order(p1, status="released", operations=2, qty="20")
    first = wo.operations.order_by("sequence").first()
    services.confirm_operation(first, actor=None, good_qty=20, produced_lot="TURNED-1")
    return first, Lot.objects.get(number="TURNED-1")


def test_in_spec_results_open_nothing(p1, user_in, plan_for, made):
    op, lot = made
    diameter, burr, _code = plan_for(op.work_order.item)
    operator = user_in("operator", p1)
    rows = q.record_results(
        op,
        actor=operator,
        lot=lot,
        results=[q.Measurement(diameter, value="20.01"), q.Measurement(burr, passed=True)],
    )
    assert [r.passed for r in rows] == [True, True] and rows[0].recorded_by == operator
    assert not NonConformance.objects.exists() and not ExceptionTicket.objects.exists()
    event = OutboxEvent.objects.get(type="inspection.recorded")
    assert event.payload["out_of_spec"] == 0 and event.payload["results"][0]["value"] == "20.01"


def test_out_of_spec_opens_a_nonconformance_an_exception_and_a_hold_once(
    p1, user_in, plan_for, made, relay
):
    op, lot = made
    diameter, burr, code = plan_for(op.work_order.item)
    operator = user_in("operator", p1)
    q.record_results(
        op,
        actor=operator,
        lot=lot,
        results=[
            q.Measurement(diameter, value="20.09", sample=1),
            q.Measurement(diameter, value="19.90", sample=2),
            q.Measurement(burr, passed=False, defect_code=code),
        ],
    )
    relay()
    relay()  # a second relay (a retry, a sweep) changes nothing
    nc = NonConformance.objects.get()
    ticket = ExceptionTicket.objects.get()
    hold = QualityHold.objects.get()
    assert ticket.type.code == "out_of_spec" and ticket.lot == lot and nc.ticket == ticket
    assert ticket.data["measured"] == "20.09 mm" and ticket.data["nonconformance"] == nc.number
    assert nc.results.count() == 3 and list(nc.lots.all()) == [lot]
    assert hold.ticket == ticket and hold.nonconformance == nc and hold.target == "lot"
    assert Lot.objects.get(pk=lot.pk).status == "on_hold"
    assert ticket.queue.name == "quality"  # the seeded quality rule routed it
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count("quality_held") == 1
    assert OutboxEvent.objects.filter(type="quality_hold.placed").count() == 1
    assert OutboxEvent.objects.filter(type="nonconformance.opened").count() == 1
    # The held lot cannot go on to the next operation.
    second = op.work_order.operations.order_by("sequence").last()
    with pytest.raises(Exception) as refused:
        services.confirm_operation(
            second, actor=None, good_qty=1, consumed=[services.Consumption(lot, Decimal(1))]
        )
    assert refused.value.code == "lot_on_hold"


def test_bad_results_are_refused_and_nothing_is_written(p1, user_in, plan_for, made):
    op, lot = made
    diameter, burr, code = plan_for(op.work_order.item)
    operator = user_in("operator", p1)
    other_plan_char = Characteristic.objects.create(
        plan=InspectionPlan.objects.create(
            name="x", item=op.work_order.item, operation_sequence=20
        ),
        name="Length",
        upper_limit=Decimal(5),
    )
    cases = [
        ([q.Measurement(diameter, value="20.001")], "too_many_decimals"),
        ([q.Measurement(diameter, value="abc")], "value_required"),
        ([q.Measurement(diameter)], "value_required"),
        ([q.Measurement(burr)], "passed_required"),
        ([q.Measurement(burr, passed=True, defect_code=code)], "invalid_defect_code"),
        ([q.Measurement(other_plan_char, value="1")], "not_in_plan"),
        ([], "invalid_results"),
    ]
    for results, expected in cases:
        with pytest.raises(InvalidInput) as refused:
            q.record_results(op, actor=operator, lot=lot, results=results)
        assert refused.value.code == expected
    assert not OutboxEvent.objects.filter(type="inspection.recorded").exists()
    with pytest.raises(NotPermitted):
        q.record_results(
            op, actor=user_in("planner", p1), results=[q.Measurement(diameter, value="20")]
        )
