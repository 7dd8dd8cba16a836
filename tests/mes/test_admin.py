"""The Django admin of the production core: scope, service-backed writes, actions, auditors."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mes import services
from mes.access import can_access_site
from mes.models import (
    Confirmation,
    Item,
    Lot,
    LotConsumption,
    Machine,
    Operation,
    OutboxEvent,
    Site,
    WorkCenter,
    WorkOrder,
)
from tests.factories import (
    ItemFactory,
    LotFactory,
    MachineFactory,
    WorkCenterFactory,
    make_work_order,
)

pytestmark = pytest.mark.django_db


def _url(model, view, *args):
    return reverse(f"admin:mes_{model._meta.model_name}_{view}", args=args)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _inline_management(prefix, total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


@pytest.fixture
def manager(p1, user_in):
    return user_in("manager", p1, is_staff=True)


@pytest.fixture
def as_manager(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def production_p1(p1):
    """A running order at P1 with a confirmation that consumed a lot and produced one."""
    wo = make_work_order(p1, status="in_progress")
    op = wo.operations.order_by("sequence").first()
    lot = LotFactory(site=p1)
    confirmation = services.confirm_operation(
        op,
        actor=None,
        good_qty="5",
        consumed=[services.Consumption(lot=lot, quantity=Decimal(2))],
        produced_lot="P1-OUT-1",
    )
    return {"work_order": wo, "operation": op, "lot": lot, "confirmation": confirmation}


def _action(client, model, action, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **extra}
    return client.post(_url(model, "changelist"), data)


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
        model = type(record)
        changelist = as_manager.get(_url(model, "changelist"))
        change = as_manager.get(_url(model, "change", record.pk))
        history = as_manager.get(_url(model, "history", record.pk))

        assert changelist.status_code == 200, model
        assert change.status_code == 200, model
        assert history.status_code == 200, model
        assert str(record) in change.content.decode()


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


# --- master data through services --------------------------------------------------------------


def test_saving_a_work_center_records_history_and_event(as_manager, manager, p1):
    wc = WorkCenterFactory(site=p1, name="Lathes")
    data = {
        "code": wc.code,
        "name": "CNC lathes",
        "kind": "machining",
        "is_active": "on",
        **_inline_management("machines"),
    }

    response = as_manager.post(_url(WorkCenter, "change", wc.pk), data)

    wc.refresh_from_db()
    assert response.status_code == 302
    assert wc.name == "CNC lathes"
    latest = wc.history.order_by("-history_id").first()
    assert latest.history_user == manager
    assert "name" in latest.history_change_reason.lower()
    event = OutboxEvent.objects.get(type="workcenter.changed", aggregate_id=str(wc.pk))
    assert event.actor == manager
    assert event.site == p1


def test_adding_a_work_center_with_machines_saves_each_through_the_service(as_manager, p1):
    data = {
        "site": str(p1.pk),
        "code": "ASM",
        "name": "Assembly",
        "kind": "assembly",
        "is_active": "on",
        **_inline_management("machines", total=1),
        "machines-0-code": "ASM-1",
        "machines-0-name": "Press-fit station",
        "machines-0-is_active": "on",
    }

    response = as_manager.post(_url(WorkCenter, "add"), data)

    assert response.status_code == 302
    wc = WorkCenter.objects.get(site=p1, code="ASM")
    machine = Machine.objects.get(work_center=wc)
    assert machine.site == p1
    assert machine.history.count() == 1
    assert OutboxEvent.objects.filter(type="machine.created", aggregate_id=str(machine.pk)).exists()


def test_a_refused_save_rolls_back_and_shows_the_error(as_manager, p1):
    MachineFactory(work_center=WorkCenterFactory(site=p1), code="DUP")
    data = {
        "site": str(p1.pk),
        "code": "NEW",
        "name": "New cell",
        "kind": "other",
        "is_active": "on",
        **_inline_management("machines", total=1),
        "machines-0-code": "DUP",
        "machines-0-name": "Clash",
        "machines-0-is_active": "on",
    }

    response = as_manager.post(_url(WorkCenter, "add"), data)

    form = response.context["adminform"].form
    assert response.status_code == 200
    assert "DUP" in " ".join(form.non_field_errors())
    assert "code" not in form.errors  # the inline machine's error is not the work center's
    assert any("DUP" in m for m in _messages(response))
    assert not WorkCenter.objects.filter(code="NEW").exists()
    assert not OutboxEvent.objects.filter(type="workcenter.created").exists()


def test_a_manager_who_adds_a_site_can_manage_it(as_manager, manager):
    response = as_manager.post(
        _url(Site, "add"),
        {
            "code": "P9",
            "name": "New plant",
            "timezone": "UTC",
            "is_active": "on",
            "projection_tolerance_minutes": 240,
        },
    )

    site = Site.objects.get(code="P9")
    assert response.status_code == 302
    assert can_access_site(manager, site)
    assert OutboxEvent.objects.filter(type="site.created", aggregate_id=str(site.pk)).exists()
    assert as_manager.get(_url(Site, "permissions", site.pk)).status_code == 200


def test_item_save_goes_through_the_service(as_manager):
    item = ItemFactory(name="Bracket")

    as_manager.post(
        _url(Item, "change", item.pk),
        {
            "code": item.code,
            "name": "Bracket v2",
            "kind": "finished",
            "unit": "pcs",
            "is_active": "on",
        },
    )

    item.refresh_from_db()
    assert item.name == "Bracket v2"
    assert OutboxEvent.objects.filter(type="item.changed", aggregate_id=str(item.pk)).exists()
    assert Item.history.filter(id=item.pk).count() == 2


# --- auditors ------------------------------------------------------------------------------------


def test_auditor_reads_everything_and_changes_nothing(client, user_in, p1, p2):
    auditor = user_in("auditor", is_staff=True)
    client.force_login(auditor)
    at_p1 = make_work_order(p1)
    at_p2 = make_work_order(p2)
    wc = WorkCenterFactory(site=p1, name="Paint")

    changelist = client.get(_url(WorkOrder, "changelist"))
    wc_page = client.get(_url(WorkCenter, "change", wc.pk))
    wc_post = client.post(
        _url(WorkCenter, "change", wc.pk),
        {"code": wc.code, "name": "Hacked", "kind": "paint", **_inline_management("machines")},
    )
    release = _action(client, WorkOrder, "release", [at_p1, at_p2])
    permissions_page = client.get(_url(Site, "permissions", p1.pk))

    assert changelist.status_code == 200
    assert {at_p1.pk, at_p2.pk} <= {wo.pk for wo in changelist.context["cl"].result_list}
    assert changelist.context["action_form"] is None
    assert wc_page.status_code == 200
    assert 'name="_save"' not in wc_page.content.decode()
    assert wc_post.status_code == 403
    wc.refresh_from_db()
    at_p1.refresh_from_db()
    assert wc.name == "Paint"
    assert at_p1.status == "planned"
    assert not OutboxEvent.objects.filter(type="work_order.released").exists()
    assert release.status_code == 200  # no actions offered: the POST just shows the list
    assert permissions_page.status_code == 302
    assert client.get(_url(WorkCenter, "add")).status_code == 403


# --- outbox --------------------------------------------------------------------------------------


def test_outbox_is_read_only_and_filters_on_delivery(as_manager, p1):
    wo = make_work_order(p1)
    event = OutboxEvent.objects.get(type="work_order.created", aggregate_id=str(wo.pk))
    OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)

    undelivered = as_manager.get(_url(OutboxEvent, "changelist"), {"delivered": "no"})
    post = as_manager.post(_url(OutboxEvent, "change", event.pk), {"type": "x"})

    assert event.pk in {e.pk for e in undelivered.context["cl"].result_list}
    assert post.status_code == 403
    event.refresh_from_db()
    assert event.type == "work_order.created"


def test_confirmation_page_lists_consumed_lots(as_manager, production_p1):
    confirmation = production_p1["confirmation"]

    response = as_manager.get(_url(Confirmation, "change", confirmation.pk))

    assert production_p1["lot"].number in response.content.decode()
