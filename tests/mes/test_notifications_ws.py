"""The /ws/notifications/ consumer: authentication, pushes, re-checks and revocation."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.test import Client

from mes import notifications
from mes.models import Notification
from tests.factories import make_token, make_user
from tests.mes.notifications_common import IN_MEMORY, _note

pytestmark = [pytest.mark.usefixtures("require_postgres")]


# --- the websocket consumer ---------------------------------------------------------------


def _run(coro_fn):
    return async_to_sync(coro_fn)()


def _token(user) -> str:
    return make_token(user)


def _ticket(user) -> str:
    from mes.services.tokens import issue_ws_ticket

    return issue_ws_ticket(user)[0]


def _auth(key: str) -> list:
    return [(b"authorization", f"Token {key}".encode())]


async def _connect(path="/ws/notifications/", headers=None):
    from andon.asgi import application

    comm = WebsocketCommunicator(application, path, headers=headers or [])
    connected, code = await comm.connect()
    return comm, connected, code


async def _greeted(key: str) -> WebsocketCommunicator:
    """A socket signed in with ``key`` whose hello has been read."""
    comm, connected, _ = await _connect(headers=_auth(key))
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


def test_a_ticket_and_the_session_cookie_are_accepted(ws):
    planner = ws
    ticket = _ticket(planner)
    browser = Client()
    browser.force_login(planner)
    session = browser.cookies["sessionid"].value

    async def scenario():
        for path, headers in [
            (f"/ws/notifications/?ticket={ticket}", []),
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
    inactive = make_user("gone", "planner", [])
    key, dead_key, used = _token(planner), _token(inactive), _ticket(planner)
    type(inactive).objects.filter(pk=inactive.pk).update(is_active=False)
    browser = Client()
    browser.force_login(planner)
    session = browser.cookies["sessionid"].value

    async def scenario():
        for path, headers in [
            ("/ws/notifications/", []),
            ("/ws/notifications/?ticket=nope", []),
            ("/ws/notifications/", [(b"authorization", b"Token nope")]),
            ("/ws/notifications/", _auth(dead_key)),
            # a long-lived token in the URL (access logs keep URLs) is not a credential
            (f"/ws/notifications/?token={key}", []),
            # a bad ticket is not rescued by a valid session
            ("/ws/notifications/?ticket=nope", [(b"cookie", f"sessionid={session}".encode())]),
            ("/ws/notifications/", [*_auth(key), (b"origin", b"https://evil.example")]),
        ]:
            comm, connected, code = await _connect(path, headers)
            assert not connected, (path, headers)
            if not any(name == b"origin" for name, _ in headers):
                assert code == 4401, (path, code)
        # a ticket opens one socket, once
        comm, connected, _ = await _connect(f"/ws/notifications/?ticket={used}")
        assert connected
        await comm.disconnect()
        comm, connected, code = await _connect(f"/ws/notifications/?ticket={used}")
        assert (connected, code) == (False, 4401)

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


def test_a_message_to_roles_is_one_send_per_role_group(ws, p1, monkeypatch):
    """Fan-out per site and role: one send per role group, whatever the number of members;
    each socket forwards its own row (and unread count), once, and a muted member's or the
    actor's socket nothing."""
    from mes.models import NotificationPreference

    planner = ws
    both = make_user("planner_sup", "planner", [p1])
    both.groups.add(Group.objects.get(name="supervisor"))
    muted = make_user("planner_muted", "planner", [p1])
    NotificationPreference.objects.create(user=muted, kind="raised", muted=True)
    actor = make_user("planner_actor", "planner", [p1])
    layer = get_channel_layer()
    real_send, groups = layer.group_send, []

    async def recording_send(group, message):
        groups.append(group)
        await real_send(group, message)

    keys = [_token(u) for u in (planner, both, muted, actor)]

    async def scenario():
        socks = [await _greeted(key) for key in keys]
        monkeypatch.setattr(layer, "group_send", recording_send)
        members = notifications.site_members(p1, ("planner", "supervisor"))
        rows = await database_sync_to_async(notifications.send)(
            notifications.Message(
                "raised",
                await database_sync_to_async(list)(members),
                title="to the roles",
                site=p1,
                roles=("planner", "supervisor"),
                exclude={actor.pk},
            )
        )
        by_user = {r.user_id: r.pk for r in rows}
        assert set(by_user) == {planner.pk, both.pk}
        assert sorted(groups) == [
            notifications.role_group(p1.pk, "planner"),
            notifications.role_group(p1.pk, "supervisor"),
        ]
        for sock, user, unread in zip(socks[:2], (planner, both), (3, 1), strict=True):
            pushed = await sock.receive_json_from()
            assert (pushed["type"], pushed["id"], pushed["title"], pushed["unread"]) == (
                "notification",
                by_user[user.pk],
                "to the roles",
                unread,
            )
        for sock in socks:  # nothing more: not twice to the member of both roles, nothing
            assert await sock.receive_nothing(timeout=0.2)  # to the muted one or the actor
            await sock.disconnect()

    _run(scenario)


def test_a_socket_follows_its_users_roles_into_role_groups(ws, p1):
    """A role given after the socket opened (``user.groups.add``: no account service) makes
    the socket re-check at once and join that role's group; a role taken away leaves it."""
    planner = ws
    key = _token(planner)
    supervisor_group = notifications.role_group(p1.pk, "supervisor")

    def to_supervisors(title):
        return notifications.send(
            notifications.Message("raised", [planner], title=title, site=p1, roles=("supervisor",))
        )

    def set_role(add: bool):
        group = Group.objects.get(name="supervisor")
        (planner.groups.add if add else planner.groups.remove)(group)

    async def scenario():
        sock = await _greeted(key)
        await database_sync_to_async(set_role)(True)
        await asyncio.sleep(0.2)  # the re-check the role change sent
        (row,) = await database_sync_to_async(to_supervisors)("now a supervisor")
        pushed = await sock.receive_json_from()
        assert (pushed["id"], pushed["title"]) == (row.pk, "now a supervisor")
        await database_sync_to_async(set_role)(False)
        await asyncio.sleep(0.2)
        layer = get_channel_layer()
        assert not layer.groups.get(supervisor_group)  # the socket left the group
        await sock.disconnect()

    _run(scenario)
