"""Notifications: who is told what for which outbox event, mutes, the REST API, the push over
the channel layer after commit, and the ``/ws/notifications/`` consumer."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from exceptions import services as exc
from exceptions.models import ExceptionTicket, ExceptionType
from mes import notifications
from mes.access import grant_site_access
from mes.models import Notification, OutboxEvent
from mes.services import resume_work_order
from tests.factories import make_user, make_work_order

pytestmark = [pytest.mark.usefixtures("require_postgres")]

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def people(p1, p2):
    """The plant's cast: who holds which role where."""
    return {
        "supervisor_p1": make_user("supervisor_p1", "supervisor", [p1]),
        "procurement_p1": make_user("procurement_p1", "procurement", [p1]),
        "planner_p1": make_user("planner_p1", "planner", [p1]),
        "planner_p2": make_user("planner_p2", "planner", [p2]),
        "auditor": make_user("auditor", "auditor"),
        "operator_p1": make_user("operator_p1", "operator", [p1]),
    }


def kinds_of(user) -> list[str]:
    return sorted(Notification.objects.filter(user=user).values_list("kind", flat=True))


def raise_shortage(site, actor, **kwargs):
    return exc.raise_exception(
        actor=actor,
        exception_type=ExceptionType.objects.get(code="material_shortage"),
        site=site,
        data={"material": "RM-1", "qty_missing": 40},
        **kwargs,
    )


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


def _note(user, kind="raised", title="t"):
    return Notification.objects.create(user=user, kind=kind, title=title)


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


# --- the websocket consumer ---------------------------------------------------------------


def _run(coro_fn):
    return async_to_sync(coro_fn)()


def _token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


async def _connect(path="/ws/notifications/", headers=None):
    from andon.asgi import application

    comm = WebsocketCommunicator(application, path, headers=headers or [])
    connected, code = await comm.connect()
    return comm, connected, code


async def _greeted(key: str) -> WebsocketCommunicator:
    """A socket signed in with ``key`` whose hello has been read."""
    comm, connected, _ = await _connect(f"/ws/notifications/?token={key}")
    assert connected
    assert (await comm.receive_json_from())["type"] == "hello"
    return comm


async def _deactivate_behind_the_back(user) -> None:
    """A queryset update: no save signal, so no revoke hint reaches the consumers."""
    await database_sync_to_async(
        lambda: type(user).objects.filter(pk=user.pk).update(is_active=False)
    )()


@pytest.fixture
def ws(settings, transactional_db, p1, p2):
    settings.CHANNEL_LAYERS = IN_MEMORY
    planner = make_user("planner_p1", "planner", [p1])
    _note(planner)
    _note(planner)
    return planner


def test_token_header_hello_ping_and_push(ws):
    planner = ws
    key = _token(planner)
    last = Notification.objects.filter(user=planner).order_by("-pk").first()

    async def scenario():
        comm, connected, _ = await _connect(headers=[(b"authorization", f"Token {key}".encode())])
        assert connected
        assert await comm.receive_json_from() == {"type": "hello", "unread": 2, "last_id": last.pk}
        await comm.send_json_to({"type": "ping"})
        assert await comm.receive_json_from() == {"type": "pong"}
        await comm.send_json_to({"type": "dance"})
        assert (await comm.receive_json_from())["code"] == "unknown_type"

        rows = await database_sync_to_async(notifications.send)(
            notifications.Message("assigned", [planner], title="yours")
        )
        pushed = await comm.receive_json_from()
        assert (pushed["type"], pushed["id"], pushed["kind"]) == (
            "notification",
            rows[0].pk,
            "assigned",
        )
        assert pushed["unread"] == 3
        await comm.disconnect()

    _run(scenario)


def test_query_token_and_session_cookie_are_accepted(ws):
    planner = ws
    key = _token(planner)
    browser = Client()
    browser.force_login(planner)
    session = browser.cookies["sessionid"].value

    async def scenario():
        for path, headers in [
            (f"/ws/notifications/?token={key}", []),
            ("/ws/notifications/", [(b"cookie", f"sessionid={session}".encode())]),
            (
                "/ws/notifications/",
                [(b"cookie", f"sessionid={session}".encode()), (b"origin", b"http://localhost")],
            ),
        ]:
            comm, connected, _ = await _connect(path, headers)
            assert connected, path
            assert (await comm.receive_json_from())["type"] == "hello"
            await comm.disconnect()

    _run(scenario)


def test_anonymous_bad_token_inactive_and_foreign_origin_are_refused(ws):
    planner = ws
    inactive = make_user("gone", "planner", [], is_active=False)
    key, dead_key = _token(planner), _token(inactive)
    browser = Client()
    browser.force_login(planner)
    session = browser.cookies["sessionid"].value

    async def scenario():
        for path, headers in [
            ("/ws/notifications/", []),
            ("/ws/notifications/?token=nope", []),
            ("/ws/notifications/", [(b"authorization", b"Token nope")]),
            (f"/ws/notifications/?token={dead_key}", []),
            # a bad token is not rescued by a valid session
            ("/ws/notifications/?token=nope", [(b"cookie", f"sessionid={session}".encode())]),
            (
                f"/ws/notifications/?token={key}",
                [(b"origin", b"https://evil.example")],
            ),
        ]:
            comm, connected, code = await _connect(path, headers)
            assert not connected, (path, headers)
            if not any(name == b"origin" for name, _ in headers):
                assert code == 4401, (path, code)

    _run(scenario)


def test_deactivated_user_is_closed_on_next_message(ws):
    planner = ws
    key = _token(planner)

    async def scenario():
        comm = await _greeted(key)
        await _deactivate_behind_the_back(planner)
        await comm.send_json_to({"type": "ping"})
        closed = await comm.receive_output()
        assert closed == {"type": "websocket.close", "code": 4401}

    _run(scenario)


def test_deactivating_a_user_closes_their_open_sockets_at_once(ws):
    planner = ws
    key = _token(planner)

    def deactivate():
        planner.is_active = False
        planner.save(update_fields=["is_active"])

    async def scenario():
        comm = await _greeted(key)
        await database_sync_to_async(deactivate)()
        # nothing sent by the client: the revoke hint from the save closes the socket
        assert await comm.receive_output() == {"type": "websocket.close", "code": 4401}

    _run(scenario)


@pytest.mark.parametrize("recheck_seconds, delivered", [(3600, True), (0, False)])
def test_pushes_recheck_the_user_at_most_every_recheck_seconds(
    ws, monkeypatch, recheck_seconds, delivered
):
    """A fan-out must not cost one query per socket: within the window a push trusts the last
    check; past it, a user deactivated behind the consumer's back (no save signal) is closed."""
    from mes import consumers

    monkeypatch.setattr(consumers, "RECHECK_SECONDS", recheck_seconds)
    planner = ws
    key = _token(planner)

    async def scenario():
        comm = await _greeted(key)
        await _deactivate_behind_the_back(planner)
        row = await database_sync_to_async(
            lambda: Notification.objects.filter(user=planner).first()
        )()
        await get_channel_layer().group_send(
            notifications.user_group(planner.pk),
            {"type": notifications.PUSH_TYPE, **notifications.push_payload(row, {})},
        )
        out = await comm.receive_output()
        if delivered:
            assert out["type"] == "websocket.send" and '"notification"' in out["text"]
        else:
            assert out == {"type": "websocket.close", "code": 4401}
        await comm.disconnect()

    _run(scenario)


def test_push_sends_every_row_in_one_event_loop(ws, monkeypatch):
    """channels_redis pools connections per event loop: one loop for a whole fan-out."""
    planner = ws
    others = [make_user(f"planner_{n}", "planner", []) for n in range(3)]
    rows = [_note(user) for user in [planner, *others]]
    loops = []  # the loops themselves, so a closed loop's id cannot be reused
    layer = get_channel_layer()
    real_send = layer.group_send

    async def recording_send(group, message):
        loops.append(asyncio.get_running_loop())
        await real_send(group, message)

    monkeypatch.setattr(layer, "group_send", recording_send)
    notifications.push(rows)
    assert len(loops) == 4
    assert len({id(loop) for loop in loops}) == 1


# --- the notifications page (the bell's target) -------------------------------------------


@pytest.mark.django_db
def test_page_lists_own_notifications_unread_first_marked_and_none_of_others(people):
    planner, other = people["planner_p1"], people["planner_p2"]
    mine = _note(planner, title="Shortage on P1-WO-1")
    _note(other, title="not yours")
    browser = Client()
    browser.force_login(planner)
    page = browser.get(reverse("notifications"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Shortage on P1-WO-1" in html and "not yours" not in html
    assert "is-unread" in html
    assert f'href="{reverse("notifications")}"' in html  # the bell points here
    assert reverse("notification-open", args=[mine.pk]) in html


@pytest.mark.django_db
def test_opening_marks_read_and_follows_local_links_only(people):
    planner, other = people["planner_p1"], people["planner_p2"]
    local = Notification.objects.create(user=planner, kind="raised", title="t", link="/exceptions/")
    remote = Notification.objects.create(
        user=planner, kind="raised", title="t", link="https://evil.example/x"
    )
    foreign = _note(other)
    browser = Client()
    browser.force_login(planner)
    assert browser.get(reverse("notification-open", args=[local.pk])).status_code == 405
    answer = browser.post(reverse("notification-open", args=[local.pk]))
    assert answer.status_code == 302 and answer["Location"] == "/exceptions/"
    answer = browser.post(reverse("notification-open", args=[remote.pk]))
    assert answer["Location"] == reverse("notifications")
    assert browser.post(reverse("notification-open", args=[foreign.pk])).status_code == 404
    local.refresh_from_db(), remote.refresh_from_db(), foreign.refresh_from_db()
    assert local.read_at and remote.read_at and foreign.read_at is None


@pytest.mark.django_db
def test_mark_all_read_and_mute_from_the_page(people):
    planner, other = people["planner_p1"], people["planner_p2"]
    _note(planner), _note(planner), _note(other)
    browser = Client()
    browser.force_login(planner)
    browser.post(reverse("notifications-read"))
    assert notifications.unread_count(planner) == 0
    assert notifications.unread_count(other) == 1

    url = reverse("notification-preferences-page")
    browser.post(url, {"muted": ["raised", "escalated"]})
    assert notifications.muted_kinds(planner) == ["escalated", "raised"]
    page = browser.post(url, {"muted": ["raised", "no_such_kind"]}, follow=True)
    assert "Unknown notification kind: no_such_kind" in page.content.decode()
    assert notifications.muted_kinds(planner) == ["escalated", "raised"]  # nothing half-set
    browser.post(url, {})
    assert notifications.muted_kinds(planner) == []


@pytest.mark.django_db
def test_page_needs_a_login(people):
    answer = Client().get(reverse("notifications"))
    assert answer.status_code == 302 and reverse("login") in answer["Location"]
    assert Client().post(reverse("notifications-read")).status_code == 302


def test_a_burst_fan_out_on_redis_reaches_every_socket_of_one_process(
    settings, transactional_db, redis_url
):
    """All sockets of one ASGI process share one Redis list: 300 pushes in a burst must all
    arrive (the layer's default capacity of 100 dropped them silently)."""
    import secrets

    from django.contrib.auth.models import User

    from andon.settings import redis_channel_layer

    settings.CHANNEL_LAYERS = {
        "default": redis_channel_layer(redis_url, prefix=f"t{secrets.token_hex(4)}")
    }
    users = User.objects.bulk_create([User(username=f"u{i:03d}") for i in range(300)])
    rows = Notification.objects.bulk_create(
        [Notification(user=u, kind="raised", title=u.username) for u in users]
    )
    layer = get_channel_layer()

    async def connect() -> dict[int, str]:
        channels = {}
        for user in users:
            channels[user.pk] = await layer.new_channel()
            await layer.group_add(notifications.user_group(user.pk), channels[user.pk])
        return channels

    channels = async_to_sync(connect)()
    notifications.push(rows)

    async def receive_all() -> list[str]:
        got = []
        for user in users:
            message = await asyncio.wait_for(layer.receive(channels[user.pk]), 10)
            got.append(message["title"])
        await layer.flush()
        return got

    assert async_to_sync(receive_all)() == [u.username for u in users]
