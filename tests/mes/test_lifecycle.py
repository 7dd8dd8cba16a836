"""Issue 12, account lifecycle: kinds, sponsors, expiry refused at once everywhere, a periodic
deactivation that says why and tells the sponsor, warnings 14 and 3 days before, extension
with a reason."""

import datetime as dt

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from mes.errors import InvalidInput, NotPermitted
from mes.models import AccountKind, Notification
from mes.services.accounts import expire_accounts, extend_account, set_lifecycle
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def manager_p1(p1):
    return make_user("manager_p1", "manager", [p1], is_staff=True)


@pytest.fixture
def vendor(p1, manager_p1):
    user = make_user("vendor_acme", "maintenance", [p1])
    set_lifecycle(
        user,
        actor=manager_p1,
        kind=AccountKind.VENDOR,
        expires_at=timezone.now() + dt.timedelta(days=10),
        reason="press service contract",
    )
    return User.objects.get(pk=user.pk)


def test_every_kind_but_employee_expires_within_the_limit(p1, manager_p1):
    user = make_user("consultant", "planner", [p1])
    for expires in (
        None,
        timezone.now() - dt.timedelta(hours=1),
        timezone.now() + dt.timedelta(days=91),
    ):
        with pytest.raises(InvalidInput) as refused:
            set_lifecycle(user, actor=manager_p1, kind=AccountKind.PROJECT, expires_at=expires)
        assert refused.value.code == "invalid_expiry"
    profile = set_lifecycle(
        user,
        actor=manager_p1,
        kind=AccountKind.PROJECT,
        expires_at=timezone.now() + dt.timedelta(days=90),
        reason="go-live support",
    )
    assert profile.sponsor == manager_p1  # the creator, when nobody else is named
    assert profile.history.first().history_change_reason == "go-live support"
    employee = set_lifecycle(
        make_user("welder", "operator", [p1]), actor=manager_p1, kind="employee"
    )
    assert employee.expires_at is None


def test_a_manager_sets_the_lifecycle_only_of_accounts_it_manages(p1, p2, manager_p1):
    outsider = make_user("vendor_p2", "maintenance", [p2])
    with pytest.raises(NotPermitted):
        set_lifecycle(
            outsider,
            actor=manager_p1,
            kind=AccountKind.VENDOR,
            expires_at=timezone.now() + dt.timedelta(days=5),
        )


def test_an_expired_account_is_refused_everywhere_at_once(vendor, settings):
    settings.CHANNEL_LAYERS = IN_MEMORY
    key = make_token(vendor)
    session = Client()
    assert session.post("/login/", {"username": "vendor_acme", "password": "pw"}).status_code == 302
    assert session.get("/").status_code == 200
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert token.get("/api/v1/sites/").status_code == 200

    with time_machine.travel(timezone.now() + dt.timedelta(days=11)):
        # no task has run: the account is still active, and refused anyway
        assert User.objects.get(pk=vendor.pk).is_active
        assert token.get("/api/v1/sites/").status_code == 401
        assert session.get("/").status_code == 302  # the session is anonymous: to sign-in
        again = Client().post("/login/", {"username": "vendor_acme", "password": "pw"})
        assert again.status_code == 200 and "_auth_user_id" not in again.wsgi_request.session

        async def connect():
            from andon.asgi import application

            comm = WebsocketCommunicator(
                application,
                "/ws/notifications/",
                headers=[(b"authorization", f"Token {key}".encode())],
            )
            return await comm.connect()

        assert async_to_sync(connect)() == (False, 4401)


def test_the_periodic_task_deactivates_says_why_and_tells_the_sponsor(vendor, manager_p1):
    later = timezone.now() + dt.timedelta(days=11)
    assert expire_accounts(later)["deactivated"] == 1
    vendor.refresh_from_db()
    assert not vendor.is_active
    assert vendor.history.first().history_change_reason == "expired"
    told = Notification.objects.filter(user=manager_p1, kind="account_expired")
    assert told.count() == 1 and "vendor_acme" in told.get().title
    assert expire_accounts(later)["deactivated"] == 0  # once


def test_sponsors_are_warned_14_and_3_days_before_once_each(vendor, manager_p1):
    now = timezone.now()
    assert expire_accounts(now)["warned"] == 1  # 10 days left: the 14-day warning
    assert expire_accounts(now)["warned"] == 0
    assert expire_accounts(now + dt.timedelta(days=8))["warned"] == 1  # 2 days left
    assert expire_accounts(now + dt.timedelta(days=8))["warned"] == 0
    kinds = Notification.objects.filter(user=manager_p1).values_list("kind", flat=True)
    assert list(kinds) == ["account_expiring", "account_expiring"]


def test_the_sponsor_extends_with_a_reason(vendor, manager_p1, p1):
    until = timezone.now() + dt.timedelta(days=60)
    with pytest.raises(InvalidInput):
        extend_account(vendor, actor=manager_p1, until=until, reason="")
    with pytest.raises(NotPermitted):
        extend_account(
            vendor, actor=make_user("planner_p1", "planner", [p1]), until=until, reason="x"
        )
    with pytest.raises(InvalidInput):
        extend_account(
            vendor, actor=manager_p1, until=timezone.now() + dt.timedelta(days=120), reason="x"
        )
    profile = extend_account(vendor, actor=manager_p1, until=until, reason="contract renewed")
    assert profile.expires_at == until
    assert profile.history.first().history_change_reason == "contract renewed"
    assert expire_accounts(timezone.now() + dt.timedelta(days=11))["deactivated"] == 0
