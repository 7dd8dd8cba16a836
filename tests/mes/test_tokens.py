"""Issue 12, hole 5: named API tokens, stored hashed and shown once, with expiry, scope, an
optional site limit and last use; revocable by their user and managers; revocation closes the
sockets they opened; scripts open websockets with single-use tickets, never ``?token=``."""

import datetime as dt
import io

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from mes.models import AccountProfile, ApiToken, OutboxEvent
from mes.models.tokens import digest_of
from mes.services.tokens import create_token, revoke_token
from tests.factories import make_token, make_user, make_work_order

pytestmark = pytest.mark.django_db

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def api(key=None, address="127.0.0.1"):
    client = APIClient(REMOTE_ADDR=address)
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def planner(p1):
    return make_user("planner_p1", "planner", [p1])


@pytest.fixture
def manager_p1(p1):
    return make_user("manager_p1", "manager", [p1], is_staff=True)


def test_a_token_is_shown_once_and_stored_only_as_a_digest(planner):
    answer = api(make_token(planner)).post("/api/v1/tokens/", {"name": "Line 3 tablet"})
    assert answer.status_code == 201, answer.content
    key = answer.json()["key"]
    token = ApiToken.objects.get(pk=answer.json()["id"])
    assert token.digest == digest_of(key) and key not in (token.digest, token.prefix)
    with connection.cursor() as cursor:  # the key is nowhere in the token's tables
        for table in ("mes_apitoken", "mes_historicalapitoken"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            assert key not in repr(cursor.fetchall())
    listed = api(key).get("/api/v1/tokens/").json()["results"]
    assert {row["name"] for row in listed} == {"test", "Line 3 tablet"}
    assert all("key" not in row for row in listed)
    assert api(key).get("/api/v1/work-orders/").status_code == 200
    # history and the catalogued event, never the key
    assert token.history.count() == 1 and token.history.first().history_user == planner
    event = OutboxEvent.objects.get(type="api_token.changed")
    assert event.payload["name"] == "Line 3 tablet" and key not in repr(event.payload)


def test_expired_revoked_and_inactive_tokens_are_refused(planner, p1):
    fresh, old, revoked = make_token(planner), make_token(planner), make_token(planner)
    ApiToken.objects.filter(digest=digest_of(old)).update(expires_at=timezone.now())
    revoke_token(ApiToken.objects.get(digest=digest_of(revoked)), actor=planner)
    assert api(fresh).get("/api/v1/sites/").status_code == 200
    for key in (old, revoked, "andon_nope"):
        answer = api(key).get("/api/v1/sites/")
        assert (answer.status_code, answer.json()["code"]) == (401, "authentication_failed")
    type(planner).objects.filter(pk=planner.pk).update(is_active=False)
    assert api(fresh).get("/api/v1/sites/").status_code == 401


def test_a_read_only_token_reads_and_writes_nothing(p1, user_in):
    supervisor = user_in("supervisor", p1)
    wo = make_work_order(p1, status="planned")
    key = make_token(supervisor, access="read")
    assert api(key).get(f"/api/v1/work-orders/{wo.erp_number}/").status_code == 200
    answer = api(key).post(f"/api/v1/work-orders/{wo.erp_number}/release/", {}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (403, "read_only_token")
    wo.refresh_from_db()
    assert wo.status == "planned"
    assert api(key).post("/api/v1/ws-tickets/").status_code == 201  # reading pushes is reading


def test_a_token_limited_to_one_site_sees_and_acts_on_that_site_only(p1, p2, user_in):
    planner = user_in("planner", p1, p2)
    in_p1, in_p2 = make_work_order(p1), make_work_order(p2)
    key = make_token(planner, sites=[p1])
    numbers = {row["erp_number"] for row in api(key).get("/api/v1/work-orders/").json()["results"]}
    assert in_p1.erp_number in numbers and in_p2.erp_number not in numbers
    assert api(key).get(f"/api/v1/work-orders/{in_p2.erp_number}/").status_code == 404
    assert [s["code"] for s in api(key).get("/api/v1/sites/").json()["results"]] == ["P1"]


def test_last_use_is_recorded_at_most_once_a_minute(planner):
    _token, key = create_token(planner, actor=planner, name="scanner")
    token = ApiToken.objects.get(digest=digest_of(key))
    assert token.last_used_at is None
    api(key, address="10.3.3.3").get("/api/v1/sites/")
    token.refresh_from_db()
    assert token.last_used_from == "10.3.3.3" and token.last_used_at is not None
    first = token.last_used_at
    api(key, address="10.3.3.3").get("/api/v1/sites/")
    token.refresh_from_db()
    assert token.last_used_at == first  # within the minute: no write
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        api(key, address="10.3.3.3").get("/api/v1/sites/")
    token.refresh_from_db()
    assert token.last_used_at > first


def test_bad_token_requests_are_400_and_nothing_is_made(planner, p2):
    key = make_token(planner)
    too_long = (timezone.now() + dt.timedelta(days=91)).isoformat()
    for body, code in [
        ({}, "invalid"),
        ({"name": "x", "expires_at": too_long}, "invalid_expiry"),
        ({"name": "x", "expires_at": "2020-01-01T00:00:00Z"}, "invalid_expiry"),
        ({"name": "x", "scope": "admin"}, "invalid"),
        ({"name": "x", "sites": ["P2"]}, "unknown_site"),  # not one of the planner's
        ({"name": "x", "user": "nobody"}, "unknown_user"),
    ]:
        answer = api(key).post("/api/v1/tokens/", body, format="json")
        assert (answer.status_code, answer.json()["code"]) == (400, code), body
    assert ApiToken.objects.count() == 1


@pytest.fixture
def kiosk(p1):
    """A press terminal's account: of the service kind, an operator's role."""
    terminal = make_user("kiosk_p1", "operator", [p1])
    AccountProfile.objects.create(
        user=terminal, kind="service", expires_at=timezone.now() + dt.timedelta(days=60)
    )
    return terminal


def test_a_manager_makes_and_revokes_tokens_of_its_own_sites_accounts_only(
    manager_p1, planner, kiosk, p2
):
    outsider = make_user("planner_p2", "planner", [p2])
    boss = make_token(manager_p1)
    made = api(boss).post("/api/v1/tokens/", {"name": "kiosk", "user": "kiosk_p1"})
    assert made.status_code == 201 and made.json()["user"] == "kiosk_p1"
    # a person's token, made by a manager, would let the manager act as that person
    person = api(boss).post("/api/v1/tokens/", {"name": "as anna", "user": "planner_p1"})
    assert (person.status_code, person.json()["code"]) == (403, "not_delegable")
    # another site's account: as if it did not exist
    refused = api(boss).post("/api/v1/tokens/", {"name": "x", "user": "planner_p2"})
    assert (refused.status_code, refused.json()["code"]) == (400, "unknown_user")
    theirs = create_token(outsider, actor=None, name="theirs")[0]
    assert api(boss).get(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert api(boss).post(f"/api/v1/tokens/{theirs.pk}/revoke/").status_code == 404
    # a service account cannot make tokens for others
    other = api(made.json()["key"]).post("/api/v1/tokens/", {"name": "x", "user": "manager_p1"})
    assert (other.status_code, other.json()["code"]) == (400, "unknown_user")
    done = api(boss).post(f"/api/v1/tokens/{made.json()['id']}/revoke/", {"reason": "lost"})
    assert (done.status_code, done.json()["state"]) == (200, "revoked")
    assert api(made.json()["key"]).get("/api/v1/sites/").status_code == 401
    revoked = ApiToken.objects.get(pk=made.json()["id"])
    assert revoked.revoked_by == manager_p1
    assert revoked.history.first().history_change_reason == "lost"


def test_the_user_revokes_its_own_token(planner):
    key = make_token(planner)
    mine = api(key).get("/api/v1/tokens/").json()["results"][0]
    assert api(key).post(f"/api/v1/tokens/{mine['id']}/revoke/").status_code == 200
    assert api(key).get("/api/v1/tokens/").status_code == 401


def test_wrong_keys_are_throttled_per_address_and_good_keys_still_work(planner, settings):
    settings.ANDON_TOKEN_FAILURE_LIMIT = 3
    from django.core.cache import cache

    cache.clear()
    good = make_token(planner)
    codes = [api("andon_guess", address="10.7.7.7").get("/api/v1/sites/").status_code]
    codes += [
        api(f"andon_guess{n}", address="10.7.7.7").get("/api/v1/sites/").status_code
        for n in range(3)
    ]
    assert codes == [401, 401, 401, 429]
    assert api(good, address="10.7.7.7").get("/api/v1/sites/").status_code == 200
    assert api("andon_guess", address="10.8.8.8").get("/api/v1/sites/").status_code == 401


def test_issue_token_keeps_its_output_shape_and_rotates(planner):
    out = io.StringIO()
    call_command("issue_token", "planner_p1", stdout=out, stderr=io.StringIO())
    line = out.getvalue().strip()
    assert line.startswith("API token for planner_p1: ")
    first = line.split()[-1]
    assert api(first).get("/api/v1/sites/").status_code == 200
    out = io.StringIO()
    call_command(
        "issue_token", "planner_p1", "--rotate", "--read-only", stdout=out, stderr=io.StringIO()
    )
    second = out.getvalue().split()[-1]
    assert api(first).get("/api/v1/sites/").status_code == 401
    assert api(second).get("/api/v1/sites/").status_code == 200
    assert ApiToken.objects.get(digest=digest_of(second)).read_only


def test_a_websocket_ticket_is_single_use_and_short_lived(settings, transactional_db, p1):
    settings.CHANNEL_LAYERS = IN_MEMORY
    key = make_token(make_user("planner_p1", "planner", [p1]))
    fresh = api(key).post("/api/v1/ws-tickets/").json()
    stale = api(key).post("/api/v1/ws-tickets/").json()
    assert fresh["expires_in"] == 30

    async def connect(ticket):
        from andon.asgi import application

        comm = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
        connected, code = await comm.connect()
        if connected:
            await comm.disconnect()
        return connected, code

    assert async_to_sync(connect)(fresh["ticket"])[0]
    assert async_to_sync(connect)(fresh["ticket"]) == (False, 4401)  # used up
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=31)):
        assert async_to_sync(connect)(stale["ticket"]) == (False, 4401)  # too late


def test_revoking_a_token_closes_its_sockets_at_once(settings, transactional_db, p1):
    settings.CHANNEL_LAYERS = IN_MEMORY
    planner = make_user("planner_p1", "planner", [p1])
    doomed, kept = make_token(planner), make_token(planner)
    token = ApiToken.objects.get(digest=digest_of(doomed))

    async def scenario():
        from andon.asgi import application

        sockets = []
        for key in (doomed, kept):
            comm = WebsocketCommunicator(
                application,
                "/ws/notifications/",
                headers=[(b"authorization", f"Token {key}".encode())],
            )
            assert (await comm.connect())[0]
            assert (await comm.receive_json_from())["type"] == "hello"
            sockets.append(comm)
        await database_sync_to_async(revoke_token)(token, actor=planner, reason="phone lost")
        assert await sockets[0].receive_output() == {"type": "websocket.close", "code": 4401}
        await sockets[1].send_json_to({"type": "ping"})
        assert await sockets[1].receive_json_from() == {"type": "pong"}  # the other lives on
        await sockets[1].disconnect()

    async_to_sync(scenario)()


@pytest.mark.usefixtures("require_postgres")
def test_tokens_of_before_named_tokens_are_moved_and_keep_working(planner):
    """The migration turns the clear-text authtoken table into hashed tokens, then drops it."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("mes.migrations.0010_api_tokens")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamptz NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", ["a" * 40, planner.pk])
    with connection.schema_editor() as editor:
        migration.move_authtoken_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    assert api("a" * 40).get("/api/v1/sites/").status_code == 200


def test_the_admin_makes_a_token_shows_its_key_once_and_revokes(manager_p1, planner, kiosk, p1, p2):
    from django.test import Client

    outsider = make_user("planner_p2", "planner", [p2])
    browser = Client()
    browser.force_login(manager_p1)
    add = browser.get("/admin/mes/apitoken/add/").content.decode()
    assert "kiosk_p1" in add and "planner_p2" not in add  # only its own accounts offered
    expires = (timezone.now() + dt.timedelta(days=10)).strftime("%Y-%m-%d %H:%M:%S")
    form = {
        "user": str(kiosk.pk),
        "name": "press 4 tablet",
        "access": "read",
        "expires_at_0": expires[:10],
        "expires_at_1": expires[11:],
        "sites": [str(p1.pk)],
    }
    page = browser.post("/admin/mes/apitoken/add/", form)
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    token = ApiToken.objects.get(name="press 4 tablet")
    key = next(
        w for w in page.content.decode().split('"') if w.startswith("andon_") and len(w) > 40
    )
    assert token.digest == digest_of(key) and token.read_only
    assert list(token.sites.values_list("code", flat=True)) == ["P1"]
    assert key not in browser.get(f"/admin/mes/apitoken/{token.pk}/change/").content.decode()
    # another site's account: refused, nothing made
    refused = browser.post("/admin/mes/apitoken/add/", {**form, "user": str(outsider.pk)})
    assert refused.status_code == 200 and ApiToken.objects.count() == 1
    # a person of its own site: theirs to make
    person = browser.post("/admin/mes/apitoken/add/", {**form, "user": str(planner.pk)})
    assert person.status_code == 200 and ApiToken.objects.count() == 1
    # another site's token: absent
    theirs = create_token(outsider, actor=None, name="theirs")[0]
    listed = browser.get("/admin/mes/apitoken/").content.decode()
    assert "press 4 tablet" in listed and "theirs" not in listed
    done = browser.post(
        "/admin/mes/apitoken/",
        {"action": "revoke_selected", "_selected_action": [token.pk, theirs.pk]},
    )
    assert done.status_code == 302
    token.refresh_from_db()
    theirs.refresh_from_db()
    assert token.revoked_at is not None and theirs.revoked_at is None
