"""Exceptions API: idempotent create, auditors, filters and query counts, attachments."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from exceptions import services
from exceptions.models import ExceptionTicket
from mes import idempotency
from mes.models import IdempotencyRecord, OutboxEvent
from tests.concurrency import together
from tests.exceptions.api_common import PNG, URL, kinds, raise_ticket, shortage_body, state
from tests.factories import LotFactory, MachineFactory, WorkCenterFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


# --- idempotent create ------------------------------------------------------------------


def test_retried_create_with_same_key_makes_one_ticket(running, sup_client):
    first = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert ExceptionTicket.objects.count() == 1
    assert OutboxEvent.objects.filter(type="exception.raised").count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.method, record.path, record.status) == ("POST", URL, 201)
    assert json.loads(record.response_body)["id"] == first.json()["id"]


def test_same_key_with_another_body_is_422(running, sup_client):
    sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    before = state()
    response = sup_client.post(
        URL,
        shortage_body(running, description="other"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert state() == before


def test_keys_are_per_user_and_refusals_are_not_stored(
    p1, running, sup_client, user_in, client_for
):
    bad = sup_client.post(
        URL, {**shortage_body(running), "data": {}}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    good = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert good.status_code == 201
    other = client_for(user_in("supervisor", p1)).post(
        URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert other.status_code == 201
    assert other.json()["id"] != good.json()["id"]
    assert ExceptionTicket.objects.count() == 2


def test_idempotency_key_too_long_is_400(running, sup_client):
    response = sup_client.post(
        URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k" * 256
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert not ExceptionTicket.objects.exists()


def test_lost_race_replays_the_winner(running, sup_client, monkeypatch):
    """The twin that misses the record on its first look loses on the unique constraint, rolls
    back its own ticket and answers with the winner's."""
    first = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    real = idempotency._stored
    looks = []

    def late(user, key):
        looks.append(key)
        return None if len(looks) == 1 else real(user, key)

    monkeypatch.setattr(idempotency, "_stored", late)
    again = sup_client.post(URL, shortage_body(running), format="json", HTTP_IDEMPOTENCY_KEY="k-4")

    assert len(looks) == 2
    assert again.status_code == 201
    assert again.content == first.content
    assert ExceptionTicket.objects.count() == 1
    assert OutboxEvent.objects.filter(type="exception.raised").count() == 1


def test_concurrent_identical_creates_make_one_ticket(
    transactional_db, require_postgres, p1, user_in, client_for
):
    supervisor = user_in("supervisor", p1)
    body = {"type": "machine_breakdown", "site": "P1", "data": {"symptom": "alarm"}}
    clients = [client_for(supervisor) for _ in range(4)]
    responses = together(
        lambda client: client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="tablet-7-0001"),
        [(c,) for c in clients],
    )
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.content for r in responses}) == 1
    assert ExceptionTicket.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert OutboxEvent.objects.filter(type="exception.raised").count() == 1


# --- permissions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "", {"type": "material_shortage", "site": "P1", "data": {"material": "X"}}),
        ("patch", "{n}/", {"severity": "low"}),
        ("post", "{n}/transition/", {"to": "acknowledged"}),
        ("post", "{n}/comments/", {"text": "audit note"}),
        ("post", "{n}/decision/", {"decision": "x"}),
        ("post", "{n}/attachments/", "file"),
        ("put", "{n}/", {}),
        ("delete", "{n}/", None),
    ],
)
def test_auditor_reads_but_every_write_is_refused(
    p1_ticket, user_in, client_for, method, path, body
):
    client = client_for(user_in("auditor"))
    assert client.get(f"{URL}{p1_ticket.number}/").status_code == 200
    before = state()
    url = URL + path.format(n=p1_ticket.number)
    if body == "file":
        upload = SimpleUploadedFile("a.png", PNG, content_type="image/png")
        response = client.post(url, {"file": upload}, format="multipart")
    else:
        response = getattr(client, method)(url, body, format="json")
    assert response.status_code in (403, 405)
    if method in ("post", "patch"):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert state() == before


def test_role_without_exception_permissions_is_403(p1, p1_ticket, client_for, django_user_model):
    from tests.factories import make_user

    client = client_for(make_user("visitor", None, [p1]))
    assert client.get(URL).status_code == 403
    assert client.post(URL, shortage_body(), format="json").status_code == 403
    assert client.get("/api/v1/exception-types/").status_code == 403


# --- list filters -----------------------------------------------------------------------


@pytest.fixture
def tickets(p1, p2, supervisor, procurement, user_in, shortage, breakdown):
    from django.contrib.auth.models import Group

    a = raise_ticket(supervisor, p1, shortage)
    b = raise_ticket(supervisor, p1, breakdown, data={"symptom": "leak"}, severity="low")
    c = raise_ticket(supervisor, p1, shortage)
    services.update_exception(
        c, actor=supervisor, assignee=procurement, queue=Group.objects.get(name="procurement")
    )
    services.transition_exception(c, actor=supervisor, to="cancelled", reason="duplicate")
    d = raise_ticket(user_in("supervisor", p2), p2, shortage)
    services.update_exception(
        b, actor=supervisor, queue=Group.objects.get(name="supervisor"), assignee=supervisor
    )
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["c", "b", "a"]),
        ("site=P1", ["c", "b", "a"]),
        ("site=P2", []),
        ("status=open", ["b", "a"]),
        ("status=open,cancelled", ["c", "b", "a"]),
        ("phase=cancelled", ["c"]),
        ("type=machine_breakdown", ["b"]),
        ("category=shortage", ["c", "a"]),
        ("severity=low", ["b"]),
        ("severity=high,critical", ["c", "a"]),
        ("assignee={procurement}", ["c"]),
        ("mine=true", ["b"]),
        ("queue=procurement", ["c"]),
        ("queue=mine", ["b"]),
        ("open=true", ["b", "a"]),
        ("open=false", ["c"]),
        ("raised_after=2000-01-01T00:00:00Z", ["c", "b", "a"]),
        ("raised_before=2000-01-01T00:00:00Z", []),
    ],
)
def test_list_filters(tickets, sup_client, procurement, query, expected):
    """As the P1 supervisor (mine and queue=mine are the supervisor's)."""
    response = sup_client.get(f"{URL}?{query.format(procurement=procurement.username)}")
    assert response.status_code == 200, response.json()
    assert [r["number"] for r in response.json()["results"]] == [
        tickets[k].number for k in expected
    ]


@pytest.mark.parametrize(
    "query",
    [
        "raised_after=yesterday",
        "raised_before=2026-13-01T00:00:00Z",
        "phase=nonsense",
        "severity=urgent",
        "category=nonsense",
    ],
)
def test_bad_filter_is_400(tickets, sup_client, query):
    response = sup_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid", "invalid_filter", "invalid_choice")


def test_list_query_count_is_flat(
    p1, supervisor, sup_client, shortage, running, django_assert_max_num_queries
):
    machine = MachineFactory(work_center=WorkCenterFactory(site=p1), site=p1)
    lot = LotFactory(site=p1)
    for _ in range(12):
        raise_ticket(supervisor, p1, shortage, work_order=running, machine=machine, lot=lot)
    with django_assert_max_num_queries(7):
        response = sup_client.get(URL)
    assert len(response.json()["results"]) == 12
    assert response.json()["results"][0]["machine"] == machine.code


# --- attachments ------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _upload(client, ticket, name="photo.png", content=PNG, content_type="image/png"):
    return client.post(
        f"{URL}{ticket.number}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        format="multipart",
    )


def test_attachment_upload_and_scoped_download(
    media, p1, p2, p1_ticket, sup_client, supervisor, user_in, client_for
):
    response = _upload(sup_client, p1_ticket)

    assert response.status_code == 201, response.json()
    body = response.json()
    [attachment] = body["attachments"]
    assert (attachment["name"], attachment["content_type"], attachment["size"]) == (
        "photo.png",
        "image/png",
        len(PNG),
    )
    assert attachment["uploaded_by"] == supervisor.username
    assert kinds(body)[-1] == "attachment"
    assert attachment["url"].endswith(
        f"/api/v1/exceptions/{p1_ticket.pk}/attachments/{attachment['id']}/"
    )
    assert "/media/" not in attachment["url"]
    assert OutboxEvent.objects.filter(type="exception.attachment_added").count() == 1

    download = sup_client.get(attachment["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert "attachment" in download["Content-Disposition"]

    assert client_for(user_in("auditor")).get(attachment["url"]).status_code == 200
    other = client_for(user_in("supervisor", p2))
    assert other.get(attachment["url"]).status_code == 404
    assert client_for(None).get(attachment["url"]).status_code == 401
    # an attachment id of another ticket is not reachable through this one
    second = raise_ticket(supervisor, p1, p1_ticket.type)
    assert sup_client.get(f"{URL}{second.pk}/attachments/{attachment['id']}/").status_code == 404


def test_attachment_of_wrong_type_is_400(media, p1_ticket, sup_client):
    before = state()
    response = _upload(sup_client, p1_ticket, "notes.html", b"<script>", "text/html")
    assert response.status_code == 400
    assert response.json()["code"] == "attachment_type"
    assert "file" in response.json()["fields"]
    assert state() == before


def test_attachment_too_large_is_400(media, settings, p1_ticket, sup_client):
    settings.ANDON_ATTACHMENT_MAX_BYTES = 16
    before = state()
    response = _upload(sup_client, p1_ticket)
    assert response.status_code == 400
    assert response.json()["code"] == "attachment_too_large"
    assert state() == before
    assert not any(media.rglob("*.png"))


def test_attachment_without_file_is_400(media, p1_ticket, sup_client):
    response = sup_client.post(f"{URL}{p1_ticket.number}/attachments/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["fields"]


# --- exception types --------------------------------------------------------------------


def test_the_attachment_type_comes_from_its_content(media, p1_ticket, sup_client):
    """Issue 12, hole 7: a page of script declared as a PNG is refused; a PNG declared as
    anything is a PNG."""
    before = state()
    disguised = _upload(sup_client, p1_ticket, "photo.png", b"<html><script>x</script>")
    assert (disguised.status_code, disguised.json()["code"]) == (400, "attachment_type")
    assert state() == before
    honest = _upload(sup_client, p1_ticket, "photo.bin", PNG, "application/octet-stream")
    assert honest.status_code == 201
    assert honest.json()["attachments"][-1]["content_type"] == "image/png"


def test_the_size_limit_stops_the_upload_while_it_streams(settings):
    from mes.uploads import SizeLimitedUploadHandler, UploadTooLarge

    settings.ANDON_ATTACHMENT_MAX_BYTES = 1000
    handler = SizeLimitedUploadHandler()
    assert handler.receive_data_chunk(b"x" * 600, 0) == b"x" * 600
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 600, 600)  # the second chunk, not the whole file
    with pytest.raises(UploadTooLarge):  # a declared length that cannot fit: before reading
        handler.handle_raw_input(None, {}, 10_000_000, b"b")
