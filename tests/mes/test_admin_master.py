"""The admin of master data through services, auditors, and the outbox."""

import pytest

from mes.access import can_access_site
from mes.models import (
    Confirmation,
    Item,
    Machine,
    OutboxEvent,
    Site,
    WorkCenter,
    WorkOrder,
)
from tests.factories import (
    ItemFactory,
    MachineFactory,
    WorkCenterFactory,
    make_work_order,
)
from tests.mes.admin_common import _action, _inline_management, _messages, _url

pytestmark = pytest.mark.django_db


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
    # it grants the site per account (within what it holds); raw grants are for superusers
    assert as_manager.get(_url(Site, "permissions", site.pk)).status_code == 403


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
    assert permissions_page.status_code == 403  # raw site grants: superusers only
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
