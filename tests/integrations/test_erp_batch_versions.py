"""Issue 13, 1 and 3: versions within one batch answer as they would in separate batches (the
batch's own view of each order's version and status follows every change it makes), and a
same-version change to a cancelled order is a conflict like any other."""

import pytest

from exceptions.models import ExceptionTicket
from mes import services
from mes.models import WorkOrder
from tests.factories import MachineFactory
from tests.integrations.test_erp_batch import order, send, statuses

pytestmark = pytest.mark.django_db


def _started(client_for, plant, number):
    send(client_for, plant["erp"], [order(number)])
    wo = WorkOrder.objects.get(erp_number=number)
    services.release_work_order(wo, actor=None)
    machine = MachineFactory(work_center=plant["wc"], site=wo.site)
    services.start_operation(wo.operations.get(sequence=10), actor=None, machine=machine)
    return wo


def _changes(wo):
    return ExceptionTicket.objects.filter(type__code="order_change", work_order=wo)


def test_an_older_version_after_a_newer_one_in_the_same_batch_is_stale(plant, client_for):
    orders = [_started(client_for, plant, f"S/{n}") for n in (1, 2, 3)]
    batch = []
    for wo in orders:
        batch += [order(wo.erp_number, version=3, quantity=300)]
        batch += [order(wo.erp_number, version=2, quantity=200)]
    answer = send(client_for, plant["erp"], batch)
    assert [s for _n, s in statuses(answer)] == ["updated", "stale"] * 3
    for wo in orders:
        (ticket,) = _changes(wo)
        assert ticket.data["new_quantity"] == 300.0
        wo.refresh_from_db()
        assert wo.erp_version == 3 and wo.planned_qty == 260


def test_a_cancellation_sent_twice_in_one_batch_is_unchanged_the_second_time(plant, client_for):
    send(client_for, plant["erp"], [order("C/1")])
    cancel = order("C/1", version=2, status="cancelled")
    answer = send(client_for, plant["erp"], [cancel, cancel, order("C/1", version=1)])
    assert statuses(answer) == [("C/1", "updated"), ("C/1", "unchanged"), ("C/1", "stale")]
    wo = WorkOrder.objects.get(erp_number="C/1")
    assert (wo.status, wo.erp_version) == ("cancelled", 2)


def test_cancelling_a_started_order_twice_in_one_batch_raises_one_decision(plant, client_for):
    wo = _started(client_for, plant, "S/9")
    cancel = order("S/9", version=2, status="cancelled")
    answer = send(client_for, plant["erp"], [cancel, cancel, order("S/9", version=1)])
    assert [s for _n, s in statuses(answer)] == ["updated", "unchanged", "stale"]
    assert answer.json()["results"][0]["order_change"]
    assert _changes(wo).count() == 1


def test_a_same_version_change_to_a_cancelled_order_is_a_conflict(plant, client_for):
    send(client_for, plant["erp"], [order("D/1")])
    wo = WorkOrder.objects.get(erp_number="D/1")
    services.cancel_work_order(wo, actor=None, reason="cancelled on the floor")
    same = send(client_for, plant["erp"], [order("D/1")])
    assert statuses(same) == [("D/1", "unchanged")]
    other = send(client_for, plant["erp"], [order("D/1", quantity=999)])
    result = other.json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "version_conflict")
