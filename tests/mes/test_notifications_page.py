"""The notifications page (the bell's target), and a burst fan-out over Redis."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client
from django.urls import reverse

from mes import notifications
from mes.models import Notification
from tests.mes.notifications_common import _note

pytestmark = [pytest.mark.usefixtures("require_postgres")]


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
