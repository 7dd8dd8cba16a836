"""Notifications: who is told what for which outbox event, mutes, the REST API, the push over
the channel layer after commit."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group

from exceptions import services as exc
from exceptions.models import ExceptionTicket
from mes import notifications
from mes.access import grant_site_access
from mes.models import Notification, OutboxEvent
from mes.services import resume_work_order
from tests.factories import make_user, make_work_order
from tests.mes.notifications_common import IN_MEMORY, _note, kinds_of, raise_shortage

pytestmark = [pytest.mark.usefixtures("require_postgres")]


# --- producers ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_shortage_on_p1_tells_procurement_and_planning_of_p1_only(p1, people, relay):
    wo = make_work_order(p1, status="in_progress")
    # a superuser planner without an explicit grant of P1 sees every site but is not "of" P1
    make_user("root", "planner", is_superuser=True)

    ticket = raise_shortage(p1, people["supervisor_p1"], work_order=wo)
    relay()

    raised = Notification.objects.filter(kind="raised")
    assert sorted(raised.values_list("user__username", flat=True)) == [
        "planner_p1",
        "procurement_p1",
    ]
    note = raised.get(user=people["planner_p1"])
    assert note.link == f"/exceptions/{ticket.pk}/"
    assert note.title.startswith(f"Raised: {ticket.number} ") and wo.erp_number in note.title
    assert (note.site, note.related, note.read_at) == (p1, ticket, None)
    assert note.event.type == "exception.notified"
    # routed into procurement's queue; the rule held the order: supervisors and planners hear
    assert kinds_of(people["procurement_p1"]) == ["raised", "routed"]
    assert kinds_of(people["planner_p1"]) == ["hold_placed", "raised"]
    assert kinds_of(people["supervisor_p1"]) == ["hold_placed"]  # the raiser: not "raised"
    assert kinds_of(people["planner_p2"]) == []
    assert kinds_of(people["auditor"]) == []
    assert kinds_of(people["operator_p1"]) == []
    assert not Notification.objects.filter(user__username="root").exists()


@pytest.mark.django_db
def test_role_granted_the_site_as_a_group_is_told_too(p1, p2, people, relay):
    # a planner group granted P2 would make every planner a member of P2: use a custom group
    lead = make_user("lead_p1", "planner")
    group = Group.objects.create(name="p1-planning")
    lead.groups.add(group)
    grant_site_access(group, p1)

    raise_shortage(p1, people["supervisor_p1"])
    relay()

    assert kinds_of(lead) == ["raised"]


@pytest.mark.django_db
def test_assignment_tells_the_assignee_not_the_actor(p1, people, relay):
    ticket = raise_shortage(p1, people["supervisor_p1"])
    relay()
    Notification.objects.all().delete()

    exc.update_exception(
        ticket, actor=people["procurement_p1"], assignee=people["procurement_p1"]
    )  # taking it oneself: nobody told
    relay()
    assert Notification.objects.count() == 0

    exc.update_exception(ticket, actor=people["procurement_p1"], assignee=people["planner_p1"])
    relay()

    note = Notification.objects.get()
    assert (note.user, note.kind) == (people["planner_p1"], "assigned")
    assert note.title.startswith("Assigned to you: ")


@pytest.mark.django_db
def test_resolved_tells_the_raiser(p1, people, relay):
    ticket = raise_shortage(p1, people["supervisor_p1"])
    relay()
    Notification.objects.all().delete()

    exc.record_decision(
        ticket, actor=people["procurement_p1"], decision="Delivered", resolve_to="resolved"
    )
    relay()

    resolved = Notification.objects.filter(kind="resolved")
    assert list(resolved.values_list("user__username", flat=True)) == ["supervisor_p1"]
    assert resolved.get().link == f"/exceptions/{ticket.pk}/"


@pytest.mark.django_db
def test_hold_placed_and_released_tell_supervisors_and_planners_of_the_site(p1, people, relay):
    wo = make_work_order(p1, status="released")
    from mes.services import hold_work_order

    hold_work_order(wo, actor=people["planner_p1"], reason="no steel")
    resume_work_order(wo, actor=None)
    relay()

    placed = Notification.objects.filter(kind="hold_placed")
    assert list(placed.values_list("user__username", flat=True)) == ["supervisor_p1"]  # not actor
    assert placed.get().body == "no steel"
    assert placed.get().link == f"/work-orders/{wo.pk}/"
    released = Notification.objects.filter(kind="hold_released")
    assert sorted(released.values_list("user__username", flat=True)) == [
        "planner_p1",
        "supervisor_p1",
    ]


@pytest.mark.django_db
def test_escalation_tells_its_roles_at_the_site_and_its_users(p1, p2, people, relay):
    ticket = raise_shortage(p1, people["supervisor_p1"])
    relay()
    Notification.objects.all().delete()
    manager = make_user("manager_p1", "manager", [p1])
    make_user("manager_p2", "manager", [p2])

    # the escalation sweep's event (issue 4, SLAs): ticket payload + level, roles, users
    exc.emit_ticket_event(
        "exception.escalated",
        ExceptionTicket.objects.select_related("site", "type").get(pk=ticket.pk),
        actor=None,
        level=2,
        clock="acknowledge",
        roles=["manager"],
        users=["planner_p1", "planner_p2"],  # planner_p2 may not see P1: skipped
    )
    relay()

    escalated = Notification.objects.filter(kind="escalated")
    assert sorted(escalated.values_list("user__username", flat=True)) == [
        manager.username,
        "planner_p1",
    ]
    assert escalated.first().title.startswith("Escalated (level 2): ")


@pytest.mark.django_db
def test_muted_kind_is_skipped(p1, people, relay):
    notifications.set_muted_kinds(people["planner_p1"], ["raised"])

    raise_shortage(p1, people["supervisor_p1"])
    relay()

    assert kinds_of(people["planner_p1"]) == []
    assert kinds_of(people["procurement_p1"]) == ["raised", "routed"]


@pytest.mark.django_db
def test_redelivered_event_notifies_once(p1, people, relay):
    raise_shortage(p1, people["supervisor_p1"])
    relay()
    event = OutboxEvent.objects.get(type="exception.notified")
    before = Notification.objects.count()

    # a second relay finds the delivery row; a subscriber run twice hits the unique constraint
    from mes.outbox import relay_event

    OutboxEvent.objects.filter(pk=event.pk).update(delivered_at=None)
    assert relay_event(event.pk)
    assert Notification.objects.count() == before


# --- REST ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_is_own_only_newest_first_or_after_oldest_first(people, client_for):
    planner, other = people["planner_p1"], people["planner_p2"]
    mine = [_note(planner, title=f"n{i}") for i in range(3)]
    _note(other, title="not yours")
    api = client_for(planner)

    newest = api.get("/api/v1/notifications/")
    assert newest.status_code == 200
    assert [n["title"] for n in newest.json()["results"]] == ["n2", "n1", "n0"]

    after = api.get(f"/api/v1/notifications/?after={mine[0].pk}")
    assert [n["id"] for n in after.json()["results"]] == [mine[1].pk, mine[2].pk]
    assert after.json()["results"][0]["read"] is False

    assert client_for(other).get("/api/v1/notifications/").json()["count"] == 1
    assert client_for(None).get("/api/v1/notifications/").status_code == 401
    bad = api.get("/api/v1/notifications/?after=x")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_filter")


@pytest.mark.django_db
def test_list_costs_the_same_queries_for_many(people, client_for, django_assert_num_queries):
    planner = people["planner_p1"]
    for i in range(20):
        _note(planner, title=f"n{i}")
    api = client_for(planner)
    api.get("/api/v1/notifications/")  # the account's roles read once, then kept
    # token+user, count, page
    with django_assert_num_queries(3):
        assert len(api.get("/api/v1/notifications/").json()["results"]) == 20


@pytest.mark.django_db
def test_mark_read_by_ids_or_all_answers_unread_count(people, client_for):
    planner, other = people["planner_p1"], people["planner_p2"]
    a, b, c = (_note(planner) for _ in range(3))
    foreign = _note(other)
    api = client_for(planner)

    answer = api.post("/api/v1/notifications/read/", {"ids": [a.pk, foreign.pk]}, format="json")
    assert answer.status_code == 200
    assert answer.json() == {"unread": 2}
    foreign.refresh_from_db()
    assert foreign.read_at is None  # someone else's id is ignored
    unread = api.get("/api/v1/notifications/?unread=true").json()
    assert [n["id"] for n in unread["results"]] == [c.pk, b.pk]

    assert api.post("/api/v1/notifications/read/", {"all": True}, format="json").json() == {
        "unread": 0
    }
    empty = api.post("/api/v1/notifications/read/", {}, format="json")
    assert empty.status_code == 400


@pytest.mark.django_db
def test_preferences_get_and_put(people, client_for):
    api = client_for(people["operator_p1"])

    assert api.get("/api/v1/notification-preferences/").json()["muted"] == []
    put = api.put(
        "/api/v1/notification-preferences/", {"muted": ["hold_placed", "routed"]}, format="json"
    )
    assert put.status_code == 200
    assert put.json()["muted"] == ["hold_placed", "routed"]
    kinds = {k["kind"]: k["muted"] for k in put.json()["kinds"]}
    assert kinds["hold_placed"] and not kinds["raised"]
    assert notifications.muted_kinds(people["operator_p1"]) == ["hold_placed", "routed"]
    bad = api.put("/api/v1/notification-preferences/", {"muted": ["nope"]}, format="json")
    assert bad.status_code == 400


# --- push over the channel layer ----------------------------------------------------------


def _nothing_in(layer, channel) -> bool:
    async def wait():
        try:
            await asyncio.wait_for(layer.receive(channel), 0.1)
        except TimeoutError:
            return True
        return False

    return async_to_sync(wait)()


@pytest.mark.django_db
def test_push_reaches_the_users_group_after_commit_only(
    settings, people, django_capture_on_commit_callbacks
):
    settings.CHANNEL_LAYERS = IN_MEMORY
    planner = people["planner_p1"]
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"user.{planner.pk}", channel)
    _note(planner)  # an older unread one

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [row] = notifications.send(
            notifications.Message("raised", [planner], title="EX-1", link="/exceptions/1/")
        )
        assert _nothing_in(layer, channel)  # nothing pushed before commit

    assert len(callbacks) == 1

    message = async_to_sync(layer.receive)(channel)
    assert message == {
        "type": "notification.message",
        "id": row.pk,
        "kind": "raised",
        "title": "EX-1",
        "body": "",
        "link": "/exceptions/1/",
        "site": None,
        "created_at": row.created_at.isoformat(),
        "unread": 2,
    }
