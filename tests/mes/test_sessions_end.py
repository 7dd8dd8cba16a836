"""Hostile review of issue 12: what ends an account's access ends it everywhere. Signing out
closes the sockets that session opened; a password set on the admin's password page is
history and ``account.changed`` and closes the account's sockets; an outside account is not
made an employee's (who never expires) by a manager."""

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from mes.errors import NotPermitted
from mes.models import AccountKind, OutboxEvent
from mes.services.accounts import set_lifecycle
from tests.factories import make_user

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def _session_socket(browser: Client) -> WebsocketCommunicator:
    from andon.asgi import application

    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    return WebsocketCommunicator(application, "/ws/notifications/", headers=[(b"cookie", cookie)])


@pytest.mark.django_db(transaction=True)
def test_signing_out_closes_the_sockets_of_that_session(settings, p1):
    settings.CHANNEL_LAYERS = IN_MEMORY
    make_user("planner_p1", "planner", [p1])
    leaving, staying = Client(), Client()
    for browser in (leaving, staying):
        assert (
            browser.post("/login/", {"username": "planner_p1", "password": "pw"}).status_code == 302
        )

    async def scenario():
        sockets = [_session_socket(b) for b in (leaving, staying)]
        for socket in sockets:
            assert (await socket.connect())[0]
            assert (await socket.receive_json_from())["type"] == "hello"
        await database_sync_to_async(leaving.post)("/logout/")
        assert await sockets[0].receive_output() == {"type": "websocket.close", "code": 4401}
        await sockets[1].send_json_to({"type": "ping"})
        assert await sockets[1].receive_json_from() == {"type": "pong"}  # the other session
        await sockets[1].disconnect()

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_a_password_set_in_the_admin_is_history_an_event_and_closes_sockets(settings, p1):
    settings.CHANNEL_LAYERS = IN_MEMORY
    boss = make_user("manager_p1", "manager", [p1], is_staff=True)
    anna = make_user("planner_p1", "planner", [p1])
    hers, admin = Client(), Client()
    hers.force_login(anna)
    admin.force_login(boss)
    url = f"/admin/auth/user/{anna.pk}/password/"

    async def scenario():
        socket = _session_socket(hers)
        assert (await socket.connect())[0]
        await socket.receive_json_from()
        answer = await database_sync_to_async(admin.post)(
            url, {"password1": "N3w-secret-pw-4567", "password2": "N3w-secret-pw-4567"}
        )
        assert answer.status_code == 302
        assert await socket.receive_output() == {"type": "websocket.close", "code": 4401}

    async_to_sync(scenario)()
    last = User.history.filter(id=anna.pk).first()
    assert (last.history_user_id, last.history_change_reason) == (boss.pk, "password set")
    event = OutboxEvent.objects.filter(type="account.changed").latest("pk")
    assert (event.actor_id, event.reason) == (boss.pk, "password set")
    assert "N3w-secret" not in str(event.payload)


@pytest.mark.django_db
def test_a_manager_does_not_make_an_outside_account_an_employees(p1):
    boss = make_user("manager_p1", "manager", [p1], is_staff=True)
    vendor = make_user("vendor_acme", "maintenance", [p1])
    until = timezone.now() + dt.timedelta(days=5)
    set_lifecycle(vendor, actor=boss, kind=AccountKind.VENDOR, expires_at=until)
    with pytest.raises(NotPermitted):
        set_lifecycle(vendor, actor=boss, kind=AccountKind.EMPLOYEE)
    assert vendor.account_profile.__class__.objects.get(user=vendor).kind == AccountKind.VENDOR
    root = User.objects.create_superuser("root", password="pw")
    set_lifecycle(vendor, actor=root, kind=AccountKind.EMPLOYEE, reason="hired")
