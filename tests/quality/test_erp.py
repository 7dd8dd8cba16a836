"""Quality's ERP events reach an endpoint like any other: a hold placed, a lot scrapped by a
disposition (as any scrap), the hold dispositioned, a non-conformance opened and an overdue
action, each with the endpoint's mapping, in order, only for the endpoint's sites."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from quality import services as q
from tests.factories import LotFactory, make_endpoint, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

FEED = "/api/v1/erp/events/"
TYPES = [
    "quality_hold.placed",
    "quality_hold.extended",
    "lot.dispositioned",
    "lot.scrapped",
    "nonconformance.opened",
    "nc_action.overdue",
]


def test_quality_events_reach_the_erp(p1, p2, user_in, quality, supervisor, relay, client_for):
    reader = make_user("erp", "erp_integration", [p1])
    endpoint = make_endpoint(
        name="Quality feed",
        adapter="pull",
        event_types=TYPES,
        account=reader,
        mapping={
            "quality_hold.placed": {
                "hold": "{{ payload.hold }}",
                "site": "{{ payload.site }}",
                "why": "{{ event.reason }}",
            }
        },
    )
    endpoint.sites.set([p1])
    lot = LotFactory(site=p1, number="STEEL/7", quantity=Decimal(10))
    elsewhere = LotFactory(site=p2, quantity=Decimal(3))
    q.place_hold(scope="lot", lot=elsewhere, reason="p2 only", actor=None)
    nc = q.open_nonconformance(site=p1, title="Cracks", actor=quality, lots=[lot])
    hold = q.place_hold(scope="lot", lot=lot, reason="cracks", actor=supervisor, nonconformance=nc)
    q.decide(hold, kind="scrap", lot=lot, quantity="4", reason="cracked", actor=quality)
    q.add_action(
        nc,
        actor=quality,
        kind="corrective",
        description="Change supplier",
        owner=quality,
        due_at=timezone.now() - datetime.timedelta(days=1),
    )
    assert q.escalate_overdue_actions() == 1
    relay()
    events = client_for(reader).get(FEED).json()["events"]
    assert [e["type"] for e in events] == [
        "nonconformance.opened",
        "quality_hold.placed",
        "lot.scrapped",
        "lot.dispositioned",
        "nc_action.overdue",
    ]
    assert events[1]["body"] == {"hold": hold.number, "site": "P1", "why": "cracks"}
    assert events[3]["body"]["payload"]["scrapped_qty"] == "4.000"
    assert events[4]["body"]["payload"]["action"]["description"] == "Change supplier"
