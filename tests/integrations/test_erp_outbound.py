"""Outbound delivery, one piece at a time (the flaky-ERP run is tests/e2e/test_erp_delivery.py)."""

import hashlib
import hmac
import json
import time

import pytest
from django.test import Client

from integrations.erp import outbound
from integrations.erp.models import ErpDelivery
from mes import services
from mes.models import Notification, OutboxEvent
from tests.factories import make_endpoint, make_user, make_work_order
from tests.integrations.flaky_erp import FlakyErp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

SECRET = "shh"
ALWAYS_OK = {"ok": 1}


def test_render_keeps_types_fills_text_and_walks_structures():
    context = {
        "event": {"id": "e-1", "type": "operation.confirmed", "site": "P1"},
        "payload": {"good_qty": 12.5, "lots": [{"lot": "L1"}], "erp_number": "ZP/1"},
    }
    template = {
        "order": "{{ payload.erp_number }}",
        "good": "{{ payload.good_qty }}",
        "first_lot": "{{ payload.lots.0.lot }}",
        "text": "Andon {{ event.type }} at {{event.site}}",
        "rows": [{"id": "{{ event.id }}"}, 7, None],
        "missing": "{{ payload.nope }}",
    }
    assert outbound.render(template, context) == {
        "order": "ZP/1",
        "good": 12.5,
        "first_lot": "L1",
        "text": "Andon operation.confirmed at P1",
        "rows": [{"id": "e-1"}, 7, None],
        "missing": None,
    }


def test_signature_is_hmac_of_timestamp_and_body():
    header = outbound.signature(SECRET, b'{"a":1}', timestamp=1700000000)
    t, v1 = (part.split("=", 1)[1] for part in header.split(","))
    expected = hmac.new(SECRET.encode(), b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert t == "1700000000" and v1 == expected


@pytest.fixture
def held(p1, relay):
    """An endpoint for holds at P1, a held work order, its event relayed into a delivery."""

    def make(erp, **endpoint):
        owner = make_user("owner", "manager", [p1])
        ep = make_endpoint(
            name="ERP",
            base_url=erp.url,
            hmac_secret=SECRET,
            event_types=["work_order.held"],
            owner=owner,
            max_attempts=3,
            **endpoint,
        )
        wo = make_work_order(p1, erp_number="ZP/2026/12/0001", status="released")
        services.hold_work_order(wo, actor=None, reason="no steel")
        relay()
        return ep, wo, owner

    return make


def test_an_event_is_delivered_mapped_signed_with_its_id_as_key(held):
    with FlakyErp(SECRET, weights=ALWAYS_OK) as erp:
        ep, wo, _owner = held(
            erp,
            mapping={
                "work_order.held": {
                    "order": "{{ payload.erp_number }}",
                    "why": "{{ event.reason }}",
                }
            },
        )
        delivery = ErpDelivery.objects.get()
        assert (delivery.status, delivery.work_order) == ("pending", wo)
        assert outbound.deliver_endpoint_now(ep.pk) == 1
    delivery.refresh_from_db()
    event = OutboxEvent.objects.get(type="work_order.held")
    assert delivery.status == "delivered" and delivery.acknowledged_at
    assert delivery.time_to_erp.total_seconds() >= 0
    assert list(erp.applied) == [str(event.event_id)]
    assert erp.bad_signatures == 0
    assert delivery.history.first().history_change_reason == "delivered"


def test_a_refusal_is_a_dead_letter_at_once_and_the_owner_is_told(
    held, django_capture_on_commit_callbacks
):
    with FlakyErp(SECRET, weights=ALWAYS_OK) as erp:
        erp.refused = {"ZP/2026/12/0001"}
        ep, _wo, owner = held(
            erp, mapping={"work_order.held": {"work_order": "{{ payload.erp_number }}"}}
        )
        with django_capture_on_commit_callbacks(execute=True):
            outbound.deliver_endpoint_now(ep.pk)
    delivery = ErpDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status) == ("dead", 1, 422)
    assert Notification.objects.filter(user=owner, kind="erp_dead_letter").count() == 1


def test_server_errors_back_off_then_dead_letter_after_max_attempts(held, settings):
    settings.ANDON_ERP_BACKOFF = 0
    with FlakyErp(SECRET, weights={"error": 1}) as erp:
        ep, _wo, _owner = held(erp)
        outbound.deliver_endpoint_now(ep.pk)
    delivery = ErpDelivery.objects.get()
    assert delivery.status == "dead" and delivery.attempts == 3
    assert sum(erp.received.values()) == 3


def test_backoff_grows_with_jitter_and_honours_retry_after(settings):
    settings.ANDON_ERP_BACKOFF = 2
    first, fifth = outbound.backoff(1), outbound.backoff(5)
    assert 1 <= first <= 3 and 16 <= fifth <= 48
    assert outbound.backoff(1, retry_after=120) == 120
    assert outbound.backoff(30) <= outbound.BACKOFF_CAP * 1.5


def test_endpoints_get_only_their_events_and_sites(p1, p2, relay):
    make_endpoint(
        p2, name="P2 only", base_url="http://127.0.0.1:9/", event_types=["work_order.held"]
    )
    make_endpoint(
        name="completions", base_url="http://127.0.0.1:9/", event_types=["work_order.completed"]
    )
    make_endpoint(
        name="off", base_url="http://127.0.0.1:9/", event_types=["work_order.held"], is_active=False
    )
    wo = make_work_order(p1, status="released")
    services.hold_work_order(wo, actor=None, reason="x")
    relay()
    assert not ErpDelivery.objects.exists()


def test_admin_retries_a_dead_letter_with_a_reason_and_planners_cannot(held, p1):
    with FlakyErp(SECRET, weights=ALWAYS_OK) as erp:
        erp.refused = {"ZP/2026/12/0001"}
        ep, _wo, owner = held(
            erp, mapping={"work_order.held": {"work_order": "{{ payload.erp_number }}"}}
        )
        outbound.deliver_endpoint_now(ep.pk)
        delivery = ErpDelivery.objects.get()
        assert delivery.status == "dead"
        erp.refused = set()  # the ERP side was fixed
        planner = make_user("planner", "planner", [p1], is_staff=True)
        url = "/admin/erp/erpdelivery/"
        browser = Client()
        browser.force_login(planner)
        assert browser.get(url).status_code == 403
        owner.is_staff = True
        owner.save()
        browser.force_login(owner)
        body = {"action": "retry", "_selected_action": [delivery.pk], "post": "yes"}
        page = browser.post(url, {**body, "reason": ""})
        assert page.status_code == 200  # asks again: a reason is required
        form = page.content.decode().split('id="content"')[1].split("</form>")[0]
        assert "work order" not in form.lower() and "deliver" in form.lower()  # issue 13, 11
        browser.post(url, {**body, "reason": "ERP mapping fixed"})
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.attempts == 0
        assert delivery.history.first().history_user == owner
        assert delivery.history.first().history_change_reason == "ERP mapping fixed"
        outbound.deliver_endpoint_now(ep.pk)
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert len(erp.applied) == 1


def test_endpoint_form_refuses_unknown_event_types_in_the_mapping(p1):
    from integrations.erp.admin import ErpEndpointForm

    form = ErpEndpointForm(
        data={
            "name": "x",
            "adapter": "rest",
            "base_url": "https://erp.example/in",
            "auth_header": "Authorization",
            "event_types": ["work_order.held"],
            "mapping": json.dumps({"work_order.exploded": {}}),
            "max_attempts": 5,
            "timeout_seconds": 5,
            "is_active": "on",
        }
    )
    assert not form.is_valid() and "mapping" in form.errors


def test_changes_the_erp_made_itself_are_not_sent_back(p1, relay):
    make_endpoint(name="ERP", base_url="http://127.0.0.1:9/", event_types=["work_order.cancelled"])
    erp_account = make_user("erp", "erp_integration", [p1])
    mine = make_work_order(p1, status="planned")
    services.cancel_work_order(mine, actor=erp_account, reason="cancelled in the ERP")
    theirs = make_work_order(p1, status="planned")
    planner = make_user("planner", "planner", [p1])
    services.cancel_work_order(theirs, actor=planner, reason="customer call")
    relay()
    assert list(ErpDelivery.objects.values_list("work_order__pk", flat=True)) == [theirs.pk]


def test_the_erp_is_called_with_no_transaction_open_and_the_attempt_already_counted(
    held, monkeypatch
):
    """Issue 14: no row lock nor transaction is held across the HTTP call."""
    from django.db import connection

    seen = {}
    real = outbound.RestAdapter.deliver

    def spy(self, endpoint, delivery, body):
        seen["in_transaction"] = len(connection.atomic_blocks) > baseline
        seen["attempts_stored"] = ErpDelivery.objects.get(pk=delivery.pk).attempts
        return real(self, endpoint, delivery, body)

    monkeypatch.setattr(outbound.RestAdapter, "deliver", spy)
    baseline = len(connection.atomic_blocks)  # the test's own transaction
    with FlakyErp(SECRET, weights=ALWAYS_OK) as erp:
        ep, _wo, _owner = held(erp)
        assert outbound.deliver_endpoint_now(ep.pk) == 1
    assert seen == {"in_transaction": False, "attempts_stored": 1}
    assert ErpDelivery.objects.get().status == "delivered"


def test_a_worker_that_dies_mid_call_cannot_make_a_delivery_retry_forever(held):
    """A claim is committed before the call: a worker stopped during it leaves the attempt
    counted and the row leased; after the lease another worker retries, and when the attempts
    are spent so the delivery is a dead letter, never called again."""
    with FlakyErp(SECRET, weights=ALWAYS_OK) as erp:
        ep, _wo, owner = held(erp)  # max_attempts=3
        for n in range(1, 4):
            claimed = outbound.claim(ep)  # ... and the worker dies: no call, no record
            assert (claimed.status, claimed.attempts) == ("pending", n)
            assert outbound.claim(ep) is None  # leased: no other worker takes it meanwhile
            ErpDelivery.objects.update(next_attempt_at=claimed.next_attempt_at)  # lease over
        assert outbound.deliver_endpoint_now(ep.pk) == 1
        delivery = ErpDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("dead", 3)
        assert "stopped during the call" in delivery.last_error
        assert sum(erp.received.values()) == 0
        assert outbound.deliver_endpoint_now(ep.pk) == 0


def test_a_late_failure_does_not_undo_a_newer_claim_but_a_late_success_counts(held):
    with FlakyErp(SECRET, weights=ALWAYS_OK) as erp:
        ep, _wo, _owner = held(erp)
        first = outbound.claim(ep)
        ErpDelivery.objects.update(next_attempt_at=first.next_attempt_at)  # lease ran out
        second = outbound.claim(ep)
        outbound.record(ep, first, outbound.Outcome(False, error="timeout", retry=True))
        delivery = ErpDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 2, "")
        outbound.record(ep, first, outbound.Outcome(True, status=200))
        assert ErpDelivery.objects.get().status == "delivered"
        outbound.record(ep, second, outbound.Outcome(False, error="late", retry=False))
        assert ErpDelivery.objects.get().status == "delivered"


def test_heads_of_several_work_orders_are_called_at_once_and_each_in_order(
    p1, relay, monkeypatch, settings
):
    """One worker calls the heads of different work orders at the same time (threads, no
    database access in them), the events of one work order one after another."""
    import threading

    settings.ANDON_ERP_CALLS_AT_ONCE = 4
    types = ["work_order.held", "work_order.resumed"]
    in_flight, most, guard = 0, 0, threading.Lock()
    real = outbound.RestAdapter.deliver

    def counting(self, endpoint, delivery, body):
        nonlocal in_flight, most
        with guard:
            in_flight += 1
            most = max(most, in_flight)
        try:
            time.sleep(0.05)  # long enough for the others of the round to start
            return real(self, endpoint, delivery, body)
        finally:
            with guard:
                in_flight -= 1

    monkeypatch.setattr(outbound.RestAdapter, "deliver", counting)
    with FlakyErp(SECRET, weights=ALWAYS_OK) as erp:
        ep = make_endpoint(
            name="ERP",
            base_url=erp.url,
            hmac_secret=SECRET,
            event_types=types,
            mapping={
                t: {"work_order": "{{ payload.erp_number }}", "seq": "{{ event.id }}"}
                for t in types
            },
        )
        orders = [make_work_order(p1, erp_number=f"ZP/{n}", status="released") for n in range(4)]
        for wo in orders:
            wo = services.hold_work_order(wo, actor=None, reason="no steel")
            services.resume_work_order(wo, actor=None, reason="steel came")
        relay()
        assert outbound.deliver_endpoint_now(ep.pk) == 8
    assert most == 4  # the four held events at once, then the four resumed ones
    for wo in orders:
        events = OutboxEvent.objects.filter(aggregate_id=str(wo.pk), type__in=types)
        assert erp.sequence_by_work_order[wo.erp_number] == [
            str(e.event_id) for e in events.order_by("pk")
        ]
    assert ErpDelivery.objects.filter(status="delivered").count() == 8
    assert ErpDelivery.history.filter(history_change_reason="delivered").count() == 8
