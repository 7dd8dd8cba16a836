"""The pull feed: ``GET /api/v1/erp/events/`` and ``POST /api/v1/erp/events/ack/``."""

import pytest
from rest_framework.test import APIClient

from integrations.erp import outbound
from integrations.erp.models import ErpDelivery
from mes import services
from mes.models import OutboxEvent
from mes.outbox import relay_event
from tests.factories import make_endpoint, make_token, make_user, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

FEED = "/api/v1/erp/events/"
ACK = "/api/v1/erp/events/ack/"
TYPES = ["work_order.held", "work_order.resumed"]


@pytest.fixture
def reader(p1):
    return make_user("erp", "erp_integration", [p1])


@pytest.fixture
def endpoint(p1, reader):
    ep = make_endpoint(
        name="Feed",
        adapter="pull",
        event_types=TYPES,
        account=reader,
        mapping={
            "work_order.held": {"order": "{{ payload.erp_number }}", "why": "{{ event.reason }}"}
        },
    )
    ep.sites.add(p1)
    return ep


def hold_and_resume(wo):
    services.hold_work_order(wo, actor=None, reason="no steel")
    services.resume_work_order(wo, actor=None, reason="steel came")


def test_the_erp_reads_in_order_acknowledges_and_is_never_pushed_to(
    endpoint, reader, p1, client_for, relay
):
    a = make_work_order(p1, erp_number="ZP/1", status="released")
    b = make_work_order(p1, erp_number="ZP/2", status="released")
    hold_and_resume(a)
    hold_and_resume(b)
    relay()
    assert outbound.deliver_endpoint_now(endpoint.pk) == 0  # nothing is pushed
    erp = client_for(reader)

    page = erp.get(FEED, {"limit": 3}).json()
    assert [(e["cursor"], e["work_order"], e["type"]) for e in page["events"]] == [
        (1, "ZP/1", "work_order.held"),
        (2, "ZP/1", "work_order.resumed"),
        (3, "ZP/2", "work_order.held"),
    ]
    assert page["events"][0]["body"] == {"order": "ZP/1", "why": "no steel"}
    assert page["events"][1]["body"]["type"] == "work_order.resumed"  # no template: as it is
    assert page["has_more"] and page["next_cursor"] == 3 and page["acknowledged_cursor"] == 0

    answer = erp.post(ACK, {"cursor": 3}, format="json")
    assert answer.status_code == 200
    assert answer.json() == {"acknowledged": 3, "acknowledged_cursor": 3}
    done = ErpDelivery.objects.filter(feed_position__lte=3)
    assert {d.status for d in done} == {"delivered"}
    assert all(d.time_to_erp.total_seconds() > 0 for d in done)
    last = done.first().history.first()
    assert (last.history_user, last.history_change_reason) == (reader, "acknowledged by the ERP")

    rest = erp.get(FEED).json()  # from the acknowledged cursor on
    assert [(e["cursor"], e["work_order"]) for e in rest["events"]] == [(4, "ZP/2")]
    assert not rest["has_more"]
    again = erp.get(FEED, {"after": 0}).json()["events"]  # re-reading serves the same events
    assert [e["acknowledged"] for e in again] == [True, True, True, False]
    assert erp.post(ACK, {"cursor": 2}, format="json").json() == {
        "acknowledged": 0,
        "acknowledged_cursor": 3,
    }


def test_an_event_still_in_the_relay_holds_its_work_order_back(endpoint, reader, p1, client_for):
    a = make_work_order(p1, erp_number="ZP/1", status="released")
    b = make_work_order(p1, erp_number="ZP/2", status="released")
    hold_and_resume(a)
    services.hold_work_order(b, actor=None, reason="x")
    others = OutboxEvent.objects.exclude(type__in=TYPES).values_list("pk", flat=True)
    for pk in others:  # work orders created: not for this feed
        relay_event(pk)
    held_a, resumed_a, held_b = OutboxEvent.objects.filter(type__in=TYPES).order_by("pk")
    relay_event(resumed_a.pk)  # a parallel relay got there first
    relay_event(held_b.pk)
    erp = client_for(reader)
    assert [e["work_order"] for e in erp.get(FEED).json()["events"]] == ["ZP/2"]
    relay_event(held_a.pk)
    events = erp.get(FEED).json()["events"]
    assert [(e["cursor"], e["work_order"], e["type"]) for e in events] == [
        (1, "ZP/2", "work_order.held"),
        (2, "ZP/1", "work_order.held"),
        (3, "ZP/1", "work_order.resumed"),
    ]


def test_wrong_role_no_feed_and_other_sites(endpoint, reader, p1, p2, client_for, user_in, relay):
    make_work_order(p2, erp_number="ZP/9", status="released")
    hold_and_resume(make_work_order(p2, erp_number="ZP/9b", status="released"))
    relay()
    planner = user_in("planner", p1)
    assert client_for(planner).get(FEED).status_code == 403
    assert client_for(planner).post(ACK, {"cursor": 1}, format="json").status_code == 403
    assert client_for(None).get(FEED).status_code in (401, 403)
    other = make_user("erp2", "erp_integration", [p1])
    answer = client_for(other).get(FEED)
    assert answer.status_code == 404 and answer.json()["code"] == "no_feed"
    # the endpoint takes P1's events only
    assert client_for(reader).get(FEED).json()["events"] == []
    assert not ErpDelivery.objects.exists()


def test_bad_input_is_refused_and_changes_nothing(endpoint, reader, p1, client_for, relay):
    hold_and_resume(make_work_order(p1, erp_number="ZP/1", status="released"))
    relay()
    erp = client_for(reader)
    for query in ({"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 5000}):
        answer = erp.get(FEED, query)
        assert answer.status_code == 400, query
        assert answer.json()["code"] and answer.json()["fields"]
    erp.get(FEED)
    for body in ({}, {"cursor": "soon"}, {"cursor": 0}, []):
        answer = erp.post(ACK, body, format="json")
        assert answer.status_code == 400, body
    ahead = erp.post(ACK, {"cursor": 3}, format="json")
    assert ahead.status_code == 400 and ahead.json()["code"] == "cursor_ahead"
    assert set(ErpDelivery.objects.values_list("status", flat=True)) == {"pending"}
    endpoint.refresh_from_db()
    assert endpoint.feed_acknowledged == 0


def test_an_acknowledgement_replayed_by_key_answers_the_same(
    endpoint, reader, p1, client_for, relay
):
    hold_and_resume(make_work_order(p1, erp_number="ZP/1", status="released"))
    relay()
    erp = client_for(reader)
    erp.get(FEED)
    first = erp.post(ACK, {"cursor": 2}, format="json", HTTP_IDEMPOTENCY_KEY="ack-2")
    second = erp.post(ACK, {"cursor": 2}, format="json", HTTP_IDEMPOTENCY_KEY="ack-2")
    assert first.json() == second.json() == {"acknowledged": 2, "acknowledged_cursor": 2}
    assert second.headers["Idempotent-Replayed"] == "true"
    endpoint.refresh_from_db()
    assert endpoint.history.first().history_user == reader


def test_a_replayed_delivery_is_served_again_at_the_end_of_the_feed(
    endpoint, reader, p1, client_for, relay
):
    hold_and_resume(make_work_order(p1, erp_number="ZP/1", status="released"))
    relay()
    erp = client_for(reader)
    erp.get(FEED)
    erp.post(ACK, {"cursor": 2}, format="json")
    first = ErpDelivery.objects.get(feed_position=1)
    manager = make_user("boss", "manager", [p1])
    outbound.redeliver(first, actor=manager, reason="ERP restored a backup")
    events = erp.get(FEED).json()["events"]
    assert [(e["cursor"], e["event_id"]) for e in events] == [(3, str(first.event.event_id))]


def test_a_token_limited_to_fewer_sites_than_the_feed_is_refused(p1, p2, relay):
    """Hostile review of issue 12: a P1-only token of an ERP account holding P1 and P2 read
    the P2 events of a feed serving both, and acknowledged them."""
    reader = make_user("erp_both", "erp_integration", [p1, p2])
    make_endpoint(p1, p2, name="Both", adapter="pull", event_types=TYPES, account=reader)
    hold_and_resume(make_work_order(p2, erp_number="ZP/P2", status="released"))
    relay()
    narrow = APIClient()
    narrow.credentials(HTTP_AUTHORIZATION=f"Token {make_token(reader, sites=[p1])}")
    for answer in (narrow.get(FEED), narrow.post(ACK, {"cursor": 1}, format="json")):
        assert (answer.status_code, answer.json()["code"]) == (403, "feed_sites")
    assert not ErpDelivery.objects.filter(status="delivered").exists()
    wide = APIClient()
    wide.credentials(HTTP_AUTHORIZATION=f"Token {make_token(reader)}")
    assert [e["site"] for e in wide.get(FEED).json()["events"]] == ["P2", "P2"]
