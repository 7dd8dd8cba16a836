"""Reconciliation: confirmed in Andon vs acknowledged by the ERP, and time to ERP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from integrations.erp import outbound, reconciliation
from integrations.erp.models import ErpDelivery
from mes import services
from mes.models import OutboxEvent
from tests.factories import make_endpoint, make_user, make_work_order
from tests.integrations.flaky_erp import FlakyErp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

API = "/api/v1/erp/reconciliation/"
GAP = "/api/v1/erp/time-to-erp/"
PAGE = "/erp/reconciliation/"


def confirm(wo, good, scrap=0):
    op = wo.operations.order_by("sequence").first()
    services.confirm_operation(op, actor=None, good_qty=good, scrap_qty=scrap)


@pytest.fixture
def floor(p1, p2, relay):
    """At P1: ZP/A acknowledged, ZP/B pending, ZP/C dead (refused), ZP/D still in the relay;
    at P2: ZP/E acknowledged."""
    with FlakyErp("", weights={"ok": 1}) as erp:
        erp.refused = {"ZP/C"}
        endpoint = make_endpoint(
            name="ERP",
            base_url=erp.url,
            event_types=["operation.confirmed", "work_order.completed"],
            mapping={"operation.confirmed": {"work_order": "{{ payload.erp_number }}"}},
            max_attempts=2,
        )
        orders = {
            n: make_work_order(site, erp_number=f"ZP/{n}", status="released")
            for n, site in [("A", p1), ("B", p1), ("C", p1), ("D", p1), ("E", p2)]
        }
        confirm(orders["A"], 40, 2)
        confirm(orders["A"], 10)
        confirm(orders["C"], 5)
        confirm(orders["E"], 7)
        relay()
        outbound.deliver_endpoint_now(endpoint.pk)
        confirm(orders["B"], 3, 1)
        relay()  # B's delivery waits: nobody delivers it in this test
        confirm(orders["D"], 1)  # not relayed
    return endpoint, orders


def test_confirmed_vs_acknowledged_per_work_order(floor, p1, client_for, user_in):
    endpoint, _orders = floor
    manager = user_in("manager", p1)
    answer = client_for(manager).get(API)
    assert answer.status_code == 200
    body = answer.json()
    assert body["endpoint"]["id"] == endpoint.pk
    assert body["states"] == {"dead_letter": 1, "pending": 1, "not_sent": 1, "in_sync": 1}
    rows = {r["erp_number"]: r for r in body["results"]}
    assert set(rows) == {"ZP/A", "ZP/B", "ZP/C", "ZP/D"}  # P2 is not the manager's
    a = rows["ZP/A"]
    assert (a["state"], a["confirmations"], a["acknowledged"]) == ("in_sync", 2, 2)
    assert Decimal(a["good"]) == Decimal(a["acknowledged_good"]) == 50
    assert Decimal(a["scrap"]) == Decimal(a["acknowledged_scrap"]) == 2
    b = rows["ZP/B"]
    assert (b["state"], b["pending"], b["acknowledged"], Decimal(b["acknowledged_good"])) == (
        "pending",
        1,
        0,
        0,
    )
    assert (rows["ZP/C"]["state"], rows["ZP/C"]["dead"]) == ("dead_letter", 1)
    assert (rows["ZP/D"]["state"], rows["ZP/D"]["confirmations"]) == ("not_sent", 1)

    only_dead = client_for(manager).get(API, {"state": "dead_letter"}).json()
    assert [r["erp_number"] for r in only_dead["results"]] == ["ZP/C"]
    assert client_for(manager).get(API, {"search": "zp/a"}).json()["count"] == 1


def test_time_to_erp_per_event_type_and_site(floor, p1, p2, client_for, user_in):
    endpoint, _orders = floor
    # Known gaps: the acknowledged confirmations occurred 10, 20, ..., 30 s before the ack.
    delivered = ErpDelivery.objects.filter(status="delivered", event__site=p1).order_by("pk")
    for seconds, delivery in zip([10, 30], delivered, strict=True):
        OutboxEvent.objects.filter(pk=delivery.event_id).update(
            occurred_at=delivery.acknowledged_at - timedelta(seconds=seconds)
        )
    boss = user_in("manager", p1, p2)
    rows = client_for(boss).get(GAP).json()["results"]
    by_key = {(r["event_type"], r["site"]): r for r in rows}
    p1_row = by_key[("operation.confirmed", "P1")]
    assert p1_row["acknowledged"] == 2
    assert p1_row["p50_seconds"] == pytest.approx(20, abs=0.01)
    assert p1_row["p95_seconds"] == pytest.approx(29, abs=0.01)
    assert p1_row["max_seconds"] == pytest.approx(30, abs=0.01)
    assert p1_row["pending"] == 1 and p1_row["oldest_pending_seconds"] >= 0
    assert by_key[("operation.confirmed", "P2")]["acknowledged"] == 1
    only_p2 = client_for(boss).get(GAP, {"site": "P2"}).json()["results"]
    assert {r["site"] for r in only_p2} == {"P2"}
    later = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert client_for(boss).get(GAP, {"since": later}).json()["results"] == []


def test_percentile_interpolates_between_ranks():
    assert reconciliation.percentile([], 50) is None
    assert reconciliation.percentile([4.0], 95) == 4.0
    assert reconciliation.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert reconciliation.percentile(list(map(float, range(101))), 95) == 95.0


def test_durations_read_like_a_person_would_say_them():
    from integrations.erp.templatetags.erp import duration, state_label

    assert [duration(v) for v in (None, 12.34, 545.5, 7384, 200000)] == [
        "—",
        "12.3 s",
        "9 min 6 s",
        "2 h 3 min",
        "2 d 7 h",
    ]
    assert state_label("not_sent") == "not sent yet"


def test_wrong_role_wrong_site_and_bad_filters(floor, p1, p2, client_for, user_in):
    operator = user_in("operator", p1)
    for url in (API, GAP):
        assert client_for(operator).get(url).status_code == 403
        assert client_for(None).get(url).status_code in (401, 403)
    manager = user_in("manager", p1)
    api = client_for(manager)
    wrong = api.get(API, {"site": "P2"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_site"
    assert api.get(GAP, {"site": "P2"}).json()["code"] == "wrong_site"
    for url, query, field in [
        (API, {"state": "lost"}, "state"),
        (API, {"endpoint": "999"}, "endpoint"),
        (API, {"endpoint": "x"}, "endpoint"),
        (GAP, {"since": "yesterday"}, "since"),
    ]:
        answer = api.get(url, query)
        assert answer.status_code == 400, query
        assert answer.json()["code"] == "invalid_filter" and field in answer.json()["fields"]


def test_no_endpoint_takes_confirmations(p1, client_for, user_in):
    answer = client_for(user_in("manager", p1)).get(API)
    assert answer.status_code == 404 and answer.json()["code"] == "no_endpoint"


def test_the_page_shows_both_and_refuses_others(floor, p1):
    manager = make_user("boss", "manager", [p1])
    browser = Client()
    browser.force_login(manager)
    page = browser.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "ZP/A" in html and "ZP/C" in html and "ZP/E" not in html
    assert "operation.confirmed" in html  # the time-to-ERP table
    assert browser.get(PAGE, {"state": "dead_letter"}).content.decode().count("ZP/A") == 0
    assert browser.get(PAGE, {"state": "lost"}).status_code == 400
    assert browser.get(PAGE, {"site": "P2"}).status_code == 403
    browser.force_login(make_user("op", "operator", [p1]))
    assert browser.get(PAGE).status_code == 403


def test_a_dead_delivery_of_any_event_puts_the_order_out_of_sync(floor, p1, client_for, user_in):
    """Issue 13, 2: ZP/A's confirmations were acknowledged, its hold's delivery is dead: it
    was answered in_sync (only confirmations' deliveries counted)."""
    endpoint, orders = floor
    services.hold_work_order(orders["A"], actor=None, reason="no steel")
    held = OutboxEvent.objects.filter(type="work_order.held").latest("pk")
    ErpDelivery.objects.create(
        endpoint=endpoint, event=held, work_order=orders["A"], status="dead", attempts=2
    )
    rows = client_for(user_in("manager", p1)).get(API, {"search": "ZP/A"}).json()["results"]
    assert [(r["erp_number"], r["state"], r["dead"]) for r in rows] == [("ZP/A", "dead_letter", 1)]


def test_without_an_endpoint_the_counts_are_every_endpoints(floor, p1, client_for, user_in):
    """Issue 13, 2: the summary was the first endpoint's only."""
    endpoint, orders = floor
    second = make_endpoint(
        p1, name="Second ERP", base_url="http://127.0.0.1:9/", event_types=["operation.confirmed"]
    )
    confirmed = OutboxEvent.objects.filter(type="operation.confirmed").order_by("pk")
    ErpDelivery.objects.create(
        endpoint=second, event=confirmed.first(), work_order=orders["A"], status="dead"
    )
    manager = user_in("manager", p1)
    body = client_for(manager).get(API).json()
    assert [e["name"] for e in body["endpoints"]] == ["ERP", "Second ERP"]
    first, other = body["endpoints"]
    assert first["states"] == {"dead_letter": 1, "pending": 1, "not_sent": 1, "in_sync": 1}
    assert other["states"]["dead_letter"] == 1
    assert body["all_states"] == {
        state: first["states"][state] + other["states"][state] for state in first["states"]
    }
    assert body["states"] == first["states"]  # the rows' counts: the rows are the first's
    only = client_for(manager).get(API, {"endpoint": second.pk}).json()
    assert "endpoints" not in only and only["endpoint"]["name"] == "Second ERP"
    browser = Client()
    browser.force_login(manager)
    page = browser.get(PAGE).content.decode()
    assert "Every endpoint" in page and "Second ERP" in page
