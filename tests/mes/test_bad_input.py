"""Issue 12, hole 7: bad input is a 4xx in the JSON error shape, never a 500, and writes
nothing; a batch rejects the bad record only."""

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from exceptions.models import ExceptionTicket
from mes.models import WorkOrder
from tests.factories import ItemFactory, WorkCenterFactory, make_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(p1):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(make_user('m', 'manager', [p1]))}")
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/work-orders/%00/",
        "/api/v1/work-orders/?search=%00",
        "/api/v1/erp/reconciliation/?site=%00",
        "/api/v1/exceptions/%00/",
        "/api/v1/sites/%C2%B2/",
        "/api/v1/exceptions/?due_within=99999999999",
        "/api/v1/exceptions/?due_within=NaN",
    ],
)
def test_bad_addresses_are_4xx_json(api, path):
    answer = api.get(path)
    assert 400 <= answer.status_code < 500, (path, answer.status_code)
    assert "code" in answer.json()


def test_limit_is_capped(api, p1, monkeypatch):
    from tests.factories import make_work_order

    for _ in range(3):
        make_work_order(p1)
    from mes.api.pagination import BoundedLimitOffsetPagination

    answer = api.get("/api/v1/work-orders/?limit=99999999999999999999")
    assert answer.status_code == 200 and len(answer.json()["results"]) == 3
    assert BoundedLimitOffsetPagination.max_limit == 500
    monkeypatch.setattr(BoundedLimitOffsetPagination, "max_limit", 2)
    assert len(api.get("/api/v1/work-orders/?limit=1000000").json()["results"]) == 2
    far = api.get("/api/v1/work-orders/?offset=99999999999999999999")  # past any bigint
    assert far.status_code == 200 and far.json()["results"] == []


RAISE = '{"type": "material_shortage", "site": "P1", "data": {"material": %s}}'


@pytest.mark.parametrize(
    "body",
    [
        RAISE % '"\\u0000"',
        RAISE % '"\\ud800"',
        RAISE % "1e400",
        RAISE % "NaN",
        '{"type": "material_shortage", "site": "P1", "external_refs": {"a": "\\u0000"}}',
        '{"site": "\u00b2"}',
        "[" * 5000 + "]" * 5000,
        "{" + '"a":{' * 100 + "}" * 101,
    ],
)
def test_bad_json_is_400_and_nothing_is_written(api, body):
    before = (ExceptionTicket.objects.count(), WorkOrder.objects.count())
    for path in ("/api/v1/exceptions/", "/api/v1/work-orders/"):
        answer = api.post(path, body, content_type="application/json")
        assert answer.status_code == 400, (path, body[:60], answer.content[:200])
        assert answer.json()["code"]
    assert (ExceptionTicket.objects.count(), WorkOrder.objects.count()) == before


def test_a_body_over_the_limit_is_413_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"type": "material_shortage", "site": "P1", "description": "x" * 5000})
    answer = api.post("/api/v1/exceptions/", body, content_type="application/json")
    assert (answer.status_code, answer.json()["code"]) == (413, "body_too_large")


def test_a_bad_record_is_rejected_alone(p1):
    ItemFactory(code="FG-1")
    WorkCenterFactory(site=p1, code="WC")
    client = APIClient(raise_request_exception=False)
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {make_token(make_user('erp', 'erp_integration', [p1]))}"
    )
    good = {
        "site": "P1",
        "erp_number": "OK-1",
        "erp_version": 1,
        "item": "FG-1",
        "quantity": "5",
        "due_date": "2026-12-01",
        "operations": [
            {"sequence": 10, "work_center": "WC", "setup_minutes": "5", "run_minutes_per_unit": "1"}
        ],
    }
    body = json.dumps(
        {"orders": [{**good, "erp_number": "BAD\u0000"}, {**good, "erp_number": {}}, good]}
    )
    answer = client.post(
        "/api/v1/erp/work-orders/batch/",
        body,
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="bad-record-1",
    )
    assert answer.status_code == 200, answer.content[:300]
    statuses = [r["status"] for r in answer.json()["results"]]
    assert statuses == ["rejected", "rejected", "created"], answer.json()
    assert WorkOrder.objects.filter(erp_number="OK-1").exists()


def test_an_unknown_websocket_path_is_refused_not_crashed(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

    async def connect():
        from andon.asgi import application

        comm = WebsocketCommunicator(application, "/ws/nothing-here/")
        return await comm.connect()

    assert async_to_sync(connect)() == (False, 4404)


@pytest.mark.parametrize(
    "path, body, code",
    [
        ("", {"description": "x" * 4001}, "invalid"),
        ("", {"external_refs": {"a": {"deep": 1}}}, "invalid_external_refs"),
        ("", {"external_refs": {f"k{n}": n for n in range(21)}}, "invalid_external_refs"),
        ("", {"external_refs": {"a": "x" * 201}}, "invalid_external_refs"),
    ],
)
def test_ticket_texts_have_limits_on_raise(api, path, body, code):
    before = ExceptionTicket.objects.count()
    answer = api.post(
        "/api/v1/exceptions/",
        {"type": "material_shortage", "site": "P1", "data": {"material": "RM"}, **body},
        format="json",
    )
    assert (answer.status_code, answer.json()["code"]) == (400, code), answer.json()
    assert ExceptionTicket.objects.count() == before


def test_decision_texts_have_limits_on_every_path(p1):
    from exceptions import services
    from exceptions.models import ExceptionType
    from mes.errors import InvalidInput

    ticket = services.raise_exception(
        actor=None,
        exception_type=ExceptionType.objects.get(code="material_shortage"),
        site=p1,
        data={"material": "RM"},
    )
    with pytest.raises(InvalidInput) as refused:
        services.record_decision(ticket, actor=None, decision="d" * 2001)
    assert refused.value.code == "too_long"
    with pytest.raises(InvalidInput):
        services.update_exception(ticket, actor=None, description="x" * 4001)


def test_every_answer_carries_a_content_security_policy(client, p1):
    for path in ("/login/", "/api/v1/sites/", "/admin/login/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "script-src 'self';" in policy  # no inline scripts
    assert "'unsafe-inline'" in client.get("/api/docs/")["Content-Security-Policy"]


def test_a_client_chosen_request_id_is_kept_only_when_sane(client, p1):
    good = client.get("/login/", HTTP_X_REQUEST_ID="proxy-7f3c.42")
    assert good["X-Request-ID"] == "proxy-7f3c.42"
    for bad in ("x" * 65, "evil\\r\\nSet-Cookie: a=b", "<script>", "a b"):
        answer = client.get("/login/", HTTP_X_REQUEST_ID=bad)
        assert answer["X-Request-ID"] != bad and len(answer["X-Request-ID"]) == 32


def test_an_api_address_no_route_matches_answers_json(api):
    answer = api.get("/api/v1/exceptions/1/attachments/not-a-number/")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    assert "text/html" in api.get("/no/such/page/")["Content-Type"]
