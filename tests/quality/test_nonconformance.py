"""Non-conformances: an action's owner is told, an overdue action is escalated once (owner,
quality, managers), quality hears of holds and new non-conformances, and the pages: another
site's is a 404, the owner marks their action done, only quality records the cause."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from mes.models import Notification, OutboxEvent
from quality import services as q
from quality.models import NcAction, NonConformance
from tests.factories import LotFactory

pytestmark = pytest.mark.django_db


def told(kind: str) -> list[str]:
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


@pytest.fixture
def nc(p1, quality):
    return q.open_nonconformance(site=p1, title="Burr on flange", actor=quality)


def test_overdue_actions_escalate_once_to_owner_quality_and_managers(
    p1, p2, user_in, quality, nc, relay
):
    owner = user_in("maintenance", p1)
    boss = user_in("manager", p1)
    user_in("quality", p2)  # another site's quality hears nothing
    now = timezone.now()
    late = q.add_action(
        nc, actor=quality, kind="corrective", description="Deburr tool", owner=owner, due_at=now
    )
    q.add_action(
        nc,
        actor=quality,
        kind="preventive",
        description="Check tool wear",
        owner=owner,
        due_at=now + datetime.timedelta(days=3),
    )
    relay()
    assert told("nc_action") == [owner.username, owner.username]
    hour = now + datetime.timedelta(hours=1)
    assert q.escalate_overdue_actions(now=hour) == 1
    assert q.escalate_overdue_actions(now=hour) == 0  # once
    late = NcAction.objects.get(pk=late.pk)
    assert late.escalated_at == hour and late.history.first().history_change_reason == "overdue"
    event = OutboxEvent.objects.get(type="nc_action.overdue")
    assert event.payload["action"]["owner"] == owner.username and event.actor is None
    relay()
    assert told("nc_action_overdue") == sorted([owner.username, quality.username, boss.username])
    notice = Notification.objects.get(kind="nc_action_overdue", user=owner)
    assert notice.link == f"/quality/nc/{nc.pk}/"
    q.complete_action(late, actor=owner)
    NonConformance.objects.filter(pk=nc.pk).update(status="closed")
    week = now + datetime.timedelta(days=7)
    assert q.escalate_overdue_actions(now=week) == 0  # a closed one's actions are left alone


def test_quality_hears_of_holds_and_new_nonconformances(p1, user_in, quality, supervisor, relay):
    other = user_in("quality", p1)
    lot = LotFactory(site=p1, quantity=Decimal(4))
    q.place_hold(scope="lot", lot=lot, reason="dent", actor=supervisor)
    q.open_nonconformance(site=p1, title="Dent", actor=quality)
    relay()
    assert told("quality_hold") == sorted([quality.username, other.username])
    assert told("nonconformance") == [other.username]  # not the one who opened it
    assert supervisor.username not in told("quality_hold")


def test_nonconformance_pages(client, p1, p2, user_in, quality, nc):
    owner = user_in("operator", p1)
    action = q.add_action(
        nc,
        actor=quality,
        kind="containment",
        description="Sort the stock",
        owner=owner,
        due_at=timezone.now() - datetime.timedelta(days=1),
    )
    client.force_login(user_in("quality", p2))
    assert client.get(f"/quality/nc/{nc.pk}/").status_code == 404
    assert client.get("/quality/ncs/P1/").status_code == 404
    client.force_login(owner)
    page = client.get(f"/quality/nc/{nc.pk}/")
    assert page.status_code == 200 and b"overdue" in page.content and b"Mark done" in page.content
    assert b"Add action" not in page.content
    refused = client.post(f"/quality/nc/{nc.pk}/", {"do": "update", "root_cause": "x"})
    assert refused.status_code == 403
    client.post(f"/quality/nc/{nc.pk}/", {"do": "done", "action": action.pk})
    assert NcAction.objects.get(pk=action.pk).done_at is not None
    client.force_login(quality)
    answer = client.post(
        f"/quality/nc/{nc.pk}/",
        {
            "do": "action",
            "kind": "corrective",
            "description": "New die",
            "owner": owner.username,
            "due": "2026-02-30",
        },
        follow=True,
    )
    assert b"needs a kind, a description, an owner and a due date" in answer.content
    client.post(
        f"/quality/nc/{nc.pk}/",
        {
            "do": "action",
            "kind": "corrective",
            "description": "New die",
            "owner": owner.username,
            "due": "2027-01-15",
        },
    )
    added = NcAction.objects.get(description="New die")
    assert added.owner == owner and added.due_at.date().isoformat() == "2027-01-15"
    client.post(f"/quality/nc/{nc.pk}/", {"do": "done", "action": added.pk})
    answer = client.post(
        f"/quality/nc/{nc.pk}/",
        {
            "do": "update",
            "root_cause": "Worn die",
            "containment": "Sorted",
            "status": "closed",
            "reason": "verified",
        },
    )
    nc = NonConformance.objects.get(pk=nc.pk)
    assert (nc.status, nc.root_cause) == ("closed", "Worn die") and nc.closed_at
    listing = client.get("/quality/ncs/P1/?show=all")
    assert nc.number.encode() in listing.content
    assert nc.number.encode() not in client.get("/quality/ncs/P1/").content
