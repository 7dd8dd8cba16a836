"""The Tryton adapter against a real Tryton server (trytond 8.2, production, stock_lot)."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client

from exceptions.models import ExceptionTicket
from integrations.erp import outbound, tasks
from integrations.erp import tryton as tryton_module
from integrations.erp.admin import ErpEndpointForm
from integrations.erp.models import ErpDelivery
from mes import services
from mes.models import Item, Notification, WorkOrder
from tests.factories import WorkCenterFactory, make_endpoint, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

DUE = datetime.date(2026, 12, 20)
ROUTING = [
    {"sequence": 10, "work_center": "ASM", "setup_minutes": "15", "run_minutes_per_unit": "0.5"},
    {"sequence": 20, "work_center": "TEST", "setup_minutes": "0", "run_minutes_per_unit": "1"},
]
ADMIN = "/admin/erp/erpendpoint/"


@pytest.fixture
def plant(p1):
    for code in ("ASM", "TEST"):
        WorkCenterFactory(site=p1, code=code)
    erp = make_user("erp", "erp_integration", [p1])
    manager = make_user("boss", "manager", [p1], is_staff=True)
    supervisor = make_user("sup", "supervisor", [p1])
    return erp, manager, supervisor


@pytest.fixture
def endpoint(tryton, plant):
    erp, manager, _supervisor = plant
    return make_endpoint(
        name="Tryton",
        adapter="tryton",
        base_url=tryton.url,
        auth_value=tryton.key,
        account=erp,
        owner=manager,
        event_types=["work_order.completed", "work_order.cancelled"],
        options={"warehouses": {"WH": "P1"}, "routing": ROUTING},
        max_attempts=3,
    )


def sync_now(user, endpoint):
    browser = Client()
    browser.force_login(user)
    return browser.post(ADMIN, {"action": "sync_now", "_selected_action": [endpoint.pk]})


def finish_on_the_floor(wo, supervisor, good):
    services.release_work_order(wo, actor=supervisor)
    operations = list(wo.operations.order_by("sequence"))
    for op in operations:
        services.confirm_operation(op, actor=supervisor, good_qty=good, final=True)
    services.complete_work_order(wo, actor=supervisor)


def test_an_order_created_in_tryton_appears_in_andon_after_sync_now(tryton, endpoint, plant):
    _erp, manager, _supervisor = plant
    production = tryton.create_production(5, DUE)
    tryton.create_production(3, DUE, state="draft")  # not released in Tryton: not imported
    versions = endpoint.history.count()

    answer = sync_now(manager, endpoint)
    assert answer.status_code == 302

    wo = WorkOrder.objects.get(erp_number=production["number"])
    assert (wo.site.code, wo.item.code, wo.planned_qty, wo.due_date) == ("P1", "FG-001", 5, DUE)
    assert [(op.sequence, op.work_center.code) for op in wo.operations.order_by("sequence")] == [
        (10, "ASM"),
        (20, "TEST"),
    ]
    assert Item.objects.get(code="FG-001").name == "Gearbox housing"
    assert WorkOrder.objects.count() == 1
    endpoint.refresh_from_db()
    assert endpoint.sync_summary["created"] == 1 and endpoint.synced_at is not None
    assert endpoint.history.count() == versions  # a sync is a status, not a configuration change
    assert wo.history.first().history_user.username == "erp"

    # Again: nothing changed. Then the planner changes the order in Tryton.
    assert outbound.sync_now(endpoint)["unchanged"] == 1
    later = DUE + datetime.timedelta(days=7)
    tryton.change_production(production["id"], {"quantity": 8.0, "planned_date": later})
    assert outbound.sync_now(endpoint)["updated"] == 1
    wo.refresh_from_db()
    assert (wo.planned_qty, wo.due_date) == (8, later)


def test_completing_in_andon_leaves_the_tryton_production_done_with_the_quantity(
    tryton, endpoint, plant, relay
):
    _erp, manager, supervisor = plant
    production = tryton.create_production(5, DUE)
    outbound.sync_now(endpoint)
    wo = WorkOrder.objects.get(erp_number=production["number"])

    finish_on_the_floor(wo, supervisor, good=4)
    relay()
    outbound.deliver_endpoint_now(endpoint.pk)

    delivery = ErpDelivery.objects.get(endpoint=endpoint)
    assert delivery.event.type == "work_order.completed"
    assert delivery.status == "delivered" and delivery.acknowledged_at is not None
    done = tryton.production(production["id"])
    assert done["state"] == "done"
    assert [m["quantity"] for m in done["outputs"]] == [4.0]

    # Replayed from the admin (the ERP lost it, say): Tryton is already done; nothing twice.
    outbound.redeliver(delivery, actor=manager, reason="check")
    outbound.deliver_endpoint_now(endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert [m["quantity"] for m in tryton.production(production["id"])["outputs"]] == [4.0]


def test_a_production_already_running_in_tryton_is_resumed_from_its_state(
    tryton, endpoint, plant, relay
):
    _erp, _manager, supervisor = plant
    production = tryton.create_production(5, DUE)
    outbound.sync_now(endpoint)
    tryton.button(production["id"], "assign_try")
    tryton.button(production["id"], "run")  # Tryton's side got there first
    finish_on_the_floor(WorkOrder.objects.get(erp_number=production["number"]), supervisor, 5)
    relay()
    outbound.deliver_endpoint_now(endpoint.pk)
    assert tryton.production(production["id"])["state"] == "done"


def test_refusals_are_dead_letters_and_outages_are_retried(tryton, endpoint, plant, relay):
    _erp, manager, supervisor = plant
    production = tryton.create_production(5, DUE)
    outbound.sync_now(endpoint)
    wo = WorkOrder.objects.get(erp_number=production["number"])
    finish_on_the_floor(wo, supervisor, good=Decimal("2.5"))  # Tryton's unit "u" has no decimals
    relay()
    outbound.deliver_endpoint_now(endpoint.pk)
    delivery = ErpDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "dead" and delivery.last_status == 400
    assert delivery.last_error
    assert tryton.production(production["id"])["state"] == "running"

    # Tryton down: a network error is retried later, not a dead letter.
    outbound.redeliver(delivery, actor=manager, reason="unit fixed")
    tryton.stop()
    outbound.deliver_endpoint_now(endpoint.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "ConnectError" in delivery.last_error


def test_changes_and_cancellations_in_tryton(tryton, endpoint, plant):
    _erp, _manager, supervisor = plant
    started = tryton.create_production(5, DUE)
    waiting = tryton.create_production(2, DUE)
    outbound.sync_now(endpoint)
    running = WorkOrder.objects.get(erp_number=started["number"])
    services.release_work_order(running, actor=supervisor)
    services.start_operation(running.operations.order_by("sequence").first(), actor=supervisor)

    tryton.change_production(started["id"], {"quantity": 9.0})
    tryton.button(waiting["id"], "cancel")
    summary = outbound.sync_now(endpoint)

    running.refresh_from_db()
    assert running.planned_qty == 5  # the floor started it: not rewritten
    change = ExceptionTicket.objects.get(type__code="order_change", work_order=running)
    assert summary["problems"][0]["erp_number"] == started["number"]
    assert summary["problems"][0]["order_change"] == change.number  # issue 13, 11: named
    assert WorkOrder.objects.get(erp_number=waiting["number"]).status == "cancelled"
    assert outbound.sync_now(endpoint)["unchanged"] == 2  # noted: no second exception
    assert ExceptionTicket.objects.filter(type__code="order_change").count() == 1
    assert change.raised_via == "erp"


def test_a_wrong_key_fails_the_sync_visibly(
    tryton, endpoint, plant, django_capture_on_commit_callbacks
):
    """Issue 13, 8 and 9: the cause in one line (never Tryton's HTML page, which stays in the
    details); the owner told once per streak of failures; the last successful sync kept
    apart; the state in the endpoint list."""
    _erp, manager, _supervisor = plant
    outbound.sync_now(endpoint)
    endpoint.refresh_from_db()
    worked = endpoint.synced_ok_at
    assert worked is not None
    tryton.create_production(5, DUE)
    endpoint.auth_value = "not-the-key"
    endpoint.save()
    with django_capture_on_commit_callbacks(execute=True):
        answer = sync_now(manager, endpoint)
        assert answer.status_code == 302
        tasks.sync_polling_endpoints()  # fails again: no second notification
    endpoint.refresh_from_db()
    error = endpoint.sync_summary["error"]
    assert error.startswith("HTTP 401: wrong key") and "<" not in error
    assert endpoint.sync_summary["details"]  # what Tryton answered, kept apart
    assert endpoint.synced_ok_at == worked and endpoint.synced_at > worked
    told = Notification.objects.filter(user=manager, kind="erp_sync_failed")
    assert told.count() == 1 and told.get().link.endswith(f"/{endpoint.pk}/change/")
    listed = Client()
    listed.force_login(manager)
    assert "failing since" in listed.get(ADMIN).content.decode()
    assert not WorkOrder.objects.exists()


def test_a_url_that_is_not_trytons_rest_root_is_said_so(tryton, endpoint):
    endpoint.base_url = tryton.url.rstrip("/") + "/not-the-db/"
    endpoint.save()
    with pytest.raises(outbound.SyncFailed, match="not Tryton's REST root"):
        outbound.sync_now(endpoint)


def test_the_periodic_task_syncs_every_polling_endpoint(tryton, endpoint):
    production = tryton.create_production(1, DUE)
    make_endpoint(name="push", base_url="http://127.0.0.1:9/")
    assert tasks.sync_polling_endpoints() == 1
    assert WorkOrder.objects.filter(erp_number=production["number"]).exists()


def test_sync_now_needs_the_change_permission(tryton, endpoint, p1):
    planner = make_user("planner", "planner", [p1], is_staff=True)
    tryton.create_production(1, DUE)
    assert sync_now(planner, endpoint).status_code == 403
    assert not WorkOrder.objects.exists()


def test_the_endpoint_form_checks_the_tryton_options(plant, p1):
    erp, _manager, _supervisor = plant
    base = {
        "name": "Tryton",
        "sites": [str(p1.pk)],
        "adapter": "tryton",
        "base_url": "http://127.0.0.1:8000/tryton/",
        "auth_header": "Authorization",
        "auth_value": "key",
        "account": erp.pk,
        "mapping": "{}",
        "max_attempts": 5,
        "timeout_seconds": 5,
        "is_active": "on",
    }
    bad = ErpEndpointForm(
        data={
            **base,
            "event_types": ["operation.confirmed"],
            "options": json.dumps({"warehouses": {"WH": "XX"}, "routing": [{"sequence": 1}]}),
        }
    )
    assert not bad.is_valid()
    assert set(bad.errors) == {"options", "event_types"}
    assert "XX" in str(bad.errors["options"])
    good = ErpEndpointForm(
        data={
            **base,
            "event_types": ["work_order.completed"],
            "options": json.dumps({"warehouses": {"WH": "P1"}, "routing": ROUTING}),
        }
    )
    assert good.is_valid(), good.errors


def test_a_production_without_a_date_is_refused_once_and_said_why(tryton, endpoint, plant):
    """Issue 13, 10: rejected on every sync with "due_date: This field may not be null."."""
    _erp, manager, _supervisor = plant
    undated = tryton.create_production(4, None)
    for _poll in range(2):
        summary = outbound.sync_now(endpoint)
    (problem,) = summary["problems"]
    assert (problem["erp_number"], problem["code"]) == (undated["number"], "no_planned_date")
    assert "planned date" in problem["detail"]
    assert not WorkOrder.objects.filter(erp_number=undated["number"]).exists()
    told = Notification.objects.filter(user=manager, kind="erp_sync_failed")
    assert told.count() == 1 and undated["number"] in told.get().body  # once, not per poll
    tryton.change_production(undated["id"], {"planned_date": DUE, "planned_start_date": DUE})
    assert outbound.sync_now(endpoint)["created"] == 1


def test_sync_now_on_the_endpoints_page_and_its_help(tryton, endpoint, plant):
    """Issue 13, 11: "Sync now" was only a list action; the HMAC help rendered t=,v1=."""
    _erp, manager, _supervisor = plant
    production = tryton.create_production(2, DUE)
    tryton.change_production(production["id"], {"reference": "SO/2026/118"})
    browser = Client()
    browser.force_login(manager)
    page = browser.get(f"{ADMIN}{endpoint.pk}/change/").content.decode()
    assert f"{ADMIN}{endpoint.pk}/sync/" in page and "t=UNIX-TIME,v1=HEX-DIGEST" in page
    assert browser.get(f"{ADMIN}{endpoint.pk}/sync/").status_code == 405
    answer = browser.post(f"{ADMIN}{endpoint.pk}/sync/")
    assert answer.status_code == 302 and answer["Location"].endswith(f"/{endpoint.pk}/change/")
    assert WorkOrder.objects.get().erp_reference == "SO/2026/118"  # Tryton's reference too
    draft = {"warehouses": {"WH": "P1"}, "routing": ROUTING, "states": ["draft"]}
    assert any("draft has no number" in e for e in tryton_module.option_errors(draft))
