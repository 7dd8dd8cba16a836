"""The admin of the production core: pages, site scope, work order actions through services."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mes import services
from mes.models import (
    Confirmation,
    Lot,
    LotConsumption,
    Machine,
    Operation,
    OutboxEvent,
    WorkCenter,
    WorkOrder,
)
from tests.admin_helpers import assert_admin_pages_open
from tests.factories import (
    LotFactory,
    MachineFactory,
    WorkCenterFactory,
    make_work_order,
)
from tests.mes.admin_common import _action, _messages, _url

pytestmark = pytest.mark.django_db


# --- pages ---------------------------------------------------------------------------------


def test_manager_gets_every_changelist_change_and_history_page(as_manager, p1, production_p1):
    machine = MachineFactory(work_center=WorkCenterFactory(site=p1))
    records = [
        p1,
        machine.work_center,
        machine,
        production_p1["work_order"].item,
        production_p1["work_order"],
        production_p1["operation"],
        production_p1["lot"],
        production_p1["confirmation"],
        LotConsumption.objects.get(confirmation=production_p1["confirmation"]),
        OutboxEvent.objects.filter(site=p1).first(),
    ]
    for record in records:
        assert_admin_pages_open(as_manager, record)


@pytest.mark.parametrize(
    "model", [WorkOrder, Operation, Lot, Confirmation, LotConsumption, OutboxEvent, Machine]
)
def test_changelist_queries_do_not_grow_with_rows(as_manager, p1, model):
    def production():
        wo = make_work_order(p1, status="in_progress")
        op = wo.operations.order_by("sequence").first()
        lot = LotFactory(site=p1)
        MachineFactory(work_center=op.work_center)
        services.confirm_operation(
            op, actor=None, good_qty="1", consumed=[services.Consumption(lot=lot, quantity=1)]
        )

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert as_manager.get(_url(model, "changelist")).status_code == 200
        return len(queries)

    production()
    count_queries()  # warm the per-process caches (content types) first
    few = count_queries()
    for _ in range(3):
        production()

    assert count_queries() == few


def test_admin_header_is_andon(as_manager):
    response = as_manager.get(reverse("admin:index"))

    assert response.status_code == 200
    assert response.context["site_header"] == "Andon"


def test_work_center_page_shows_its_dispatch_queue_in_order(as_manager, p1):
    wc = WorkCenterFactory(site=p1)
    first = make_work_order(p1, status="released", operations=1, work_centers=[wc])
    second = make_work_order(p1, status="released", operations=1, work_centers=[wc])

    html = as_manager.get(_url(WorkCenter, "change", wc.pk)).content.decode()

    assert html.index(first.erp_number) < html.index(second.erp_number)


def test_work_order_page_lists_operations_read_only(as_manager, p1):
    wo = make_work_order(p1, status="released", operations=2)

    response = as_manager.get(_url(WorkOrder, "change", wo.pk))

    formset = response.context["inline_admin_formsets"][0]
    assert formset.formset.model is Operation
    assert len(formset.formset.forms) == 2
    assert not formset.has_change_permission
    assert not formset.has_add_permission
    assert 'name="_save"' not in response.content.decode()


# --- scope ---------------------------------------------------------------------------------


def test_manager_of_p1_does_not_see_p2_work_orders(as_manager, p1, p2):
    mine = make_work_order(p1)
    theirs = make_work_order(p2)

    changelist = as_manager.get(_url(WorkOrder, "changelist"))
    change = as_manager.get(_url(WorkOrder, "change", theirs.pk))
    history = as_manager.get(_url(WorkOrder, "history", theirs.pk))

    shown = {wo.pk for wo in changelist.context["cl"].result_list}
    assert mine.pk in shown
    assert theirs.pk not in shown
    assert change.status_code == 302
    assert change.url == reverse("admin:index")
    assert history.status_code == 404


def test_foreign_key_choices_are_limited_to_visible_sites(as_manager, p1, p2):
    mine = WorkCenterFactory(site=p1)
    theirs = WorkCenterFactory(site=p2)

    form = as_manager.get(_url(Machine, "add")).context["adminform"].form

    assert set(form.fields["site"].queryset) == {p1}
    assert mine in form.fields["work_center"].queryset
    assert theirs not in form.fields["work_center"].queryset


def test_p1_manager_cannot_act_on_p2_orders_by_forging_ids(as_manager, p2):
    theirs = make_work_order(p2)

    _action(as_manager, WorkOrder, "release", [theirs])

    theirs.refresh_from_db()
    assert theirs.status == "planned"


# --- work order actions ----------------------------------------------------------------------


def test_release_action_releases_with_history_and_event(as_manager, manager, p1):
    wo = make_work_order(p1)

    response = _action(as_manager, WorkOrder, "release", [wo])

    wo.refresh_from_db()
    assert response.status_code == 302
    assert wo.status == "released"
    latest = wo.history.order_by("-history_id").first()
    assert latest.status == "released"
    assert latest.history_user == manager
    event = OutboxEvent.objects.get(type="work_order.released", aggregate_id=str(wo.pk))
    assert event.actor == manager
    assert "1 work order released." in _messages(response)


def test_action_reports_each_failure_and_applies_the_rest(as_manager, p1):
    planned = make_work_order(p1)
    closed = make_work_order(p1, status="closed")

    response = _action(as_manager, WorkOrder, "release", [planned, closed])

    planned.refresh_from_db()
    closed.refresh_from_db()
    assert planned.status == "released"
    assert closed.status == "closed"
    messages = _messages(response)
    assert "1 work order released." in messages
    assert any(m.startswith(f"{closed.erp_number}: ") for m in messages)


def test_hold_asks_for_a_reason_first(as_manager, p1):
    wo = make_work_order(p1, status="released")

    response = _action(as_manager, WorkOrder, "hold", [wo], index="0")

    wo.refresh_from_db()
    assert response.status_code == 200
    assert "reason" in response.context["form"].fields
    assert wo.status == "released"


def test_hold_without_reason_does_not_hold(as_manager, p1):
    wo = make_work_order(p1, status="released")

    response = _action(as_manager, WorkOrder, "hold", [wo], post="yes", reason="   ")

    wo.refresh_from_db()
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert wo.status == "released"
    assert not OutboxEvent.objects.filter(type="work_order.held").exists()


def test_hold_with_reason_holds_and_records_the_reason(as_manager, manager, p1):
    wo = make_work_order(p1, status="released")

    response = _action(
        as_manager, WorkOrder, "hold", [wo], post="yes", reason="Material shortage on line 2"
    )

    wo.refresh_from_db()
    assert response.status_code == 302
    assert wo.status == "on_hold"
    latest = wo.history.order_by("-history_id").first()
    assert latest.history_change_reason == "Material shortage on line 2"
    assert latest.history_user == manager
    event = OutboxEvent.objects.get(type="work_order.held", aggregate_id=str(wo.pk))
    assert event.reason == "Material shortage on line 2"


def test_cancel_with_reason_cancels(as_manager, p1):
    wo = make_work_order(p1)

    _action(as_manager, WorkOrder, "cancel", [wo], post="yes", reason="Customer withdrew")

    wo.refresh_from_db()
    assert wo.status == "cancelled"


def test_work_orders_cannot_be_added_or_edited_in_the_admin(as_manager, p1):
    wo = make_work_order(p1)

    add = as_manager.get(_url(WorkOrder, "add"))
    change = as_manager.post(_url(WorkOrder, "change", wo.pk), {"priority": "1"})

    wo.refresh_from_db()
    assert add.status_code == 403
    assert change.status_code == 403
    assert wo.priority == 50
