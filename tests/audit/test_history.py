"""The auditors' history: one record's complete history (who, when, field old -> new, why,
request, channel), the search across every history, the record as it was at a moment, the
exports, and who may read what."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from exceptions.models import ExceptionType, RoutingRule
from mes import services
from mes.audit import history
from mes.models import WorkOrder
from mes.models.access import grant_site_access
from quality.services import place_hold
from tests.exceptions.api_common import raise_ticket
from tests.factories import LotFactory, make_endpoint, make_token, make_work_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor(user_in):
    return user_in("auditor")


@pytest.fixture
def wo(p1, user_in, client_for):
    """A work order the ERP sent, a planner released through the API, then re-prioritised."""
    order = make_work_order(p1, erp_number="ZP/2026/07/0042")
    planner = user_in("planner", p1)
    answer = client_for(planner).post(
        f"/api/v1/work-orders/{order.pk}/release/", {"reason": "material in"}, format="json"
    )
    assert answer.status_code == 200, answer.content
    order.refresh_from_db()
    order.priority = 2
    services.save_with_history(order, actor=planner, reason="customer called")
    return order


def _record(client, kind, pk):
    answer = client.get(f"/api/v1/history/{kind}/{pk}/")
    assert answer.status_code == 200, answer.content
    return answer.json()["entries"]


def test_a_work_orders_history_says_who_when_what_why_and_through_which_channel(
    wo, auditor, client_for
):
    entries = _record(client_for(auditor), "mes.workorder", wo.pk)
    assert [e["type"] for e in entries] == ["created", "changed", "changed"]
    released, reprioritised = entries[1], entries[2]
    assert released["user"].startswith("planner_")
    assert released["channel"] == "api" and released["request_id"]
    assert {"field": "status", "old": "planned", "new": "released"} in released["changes"]
    assert reprioritised["reason"] == "customer called"
    assert reprioritised["changes"] == [{"field": "priority", "old": 0, "new": 2}] or any(
        c["field"] == "priority" and c["new"] == 2 for c in reprioritised["changes"]
    )
    assert entries[0]["seq"] == 1 and entries[2]["seq"] == 3


def test_every_kind_named_by_the_issue_has_a_history(p1, user_in, client_for, auditor, wo):
    """Work order, operation, exception, hold, lot, rule, type, endpoint, user (with grants
    and tokens): each reads back through the record API."""
    supervisor = user_in("supervisor", p1)
    ticket = raise_ticket(supervisor, p1, ExceptionType.objects.get(code="material_shortage"))
    lot = LotFactory(site=p1)
    hold = place_hold(scope="lot", lot=lot, reason="suspect weld", actor=None)
    rule = RoutingRule.objects.create(name="to procurement")
    endpoint = make_endpoint(p1, name="SAP")
    person = user_in("operator", p1)
    make_token(person)
    kind = ticket.type
    kind.name = "Material short"
    services.save_with_history(kind, actor=None, reason="plant wording")
    records = {
        "mes.workorder": wo.pk,
        "mes.operation": wo.operations.first().pk,
        "exceptions.exceptionticket": ticket.pk,
        "quality.qualityhold": hold.pk,
        "mes.lot": lot.pk,
        "exceptions.routingrule": rule.pk,
        "exceptions.exceptiontype": ticket.type_id,
        "erp.erpendpoint": endpoint.pk,
        "auth.user": person.pk,
    }
    client = client_for(auditor)
    for kind, pk in records.items():
        assert _record(client, kind, pk), kind
    kinds = {e["kind"] for e in _record(client, "auth.user", person.pk)}
    assert {"auth.user", "guardian.userobjectpermission", "mes.apitoken"} <= kinds


def test_every_history_kind_is_readable_by_an_auditor_and_scoped_for_a_manager(
    p1, auditor, user_in
):
    manager = user_in("manager", p1)
    for kind, model in history.kinds().items():
        assert history.scoped(kind, auditor).count() >= 0
        # an auditor reads every site: every row of every kind
        assert history.scoped(kind, auditor).count() == model.objects.count(), kind
        list(history.scoped(kind, manager)[:1])  # the scope builds for every kind


def test_point_in_time(wo, auditor, client_for):
    rows = list(WorkOrder.history.filter(id=wo.pk).order_by("audit_seq"))
    client = client_for(auditor)

    def at(moment):
        answer = client.get(
            f"/api/v1/history/mes.workorder/{wo.pk}/as-of/", {"at": moment.isoformat()}
        )
        assert answer.status_code == 200, answer.content
        return answer.json()

    between = rows[1].history_date + (rows[2].history_date - rows[1].history_date) / 2
    assert at(between)["fields"]["status"] == "released"
    assert at(between)["fields"]["priority"] == rows[1].priority
    assert at(rows[2].history_date)["fields"]["priority"] == 2
    assert at(rows[0].history_date - dt.timedelta(seconds=1)) == {
        "kind": "mes.workorder",
        "record": wo.pk,
        "at": (rows[0].history_date - dt.timedelta(seconds=1)).isoformat(),
        "existed": False,
    }


def test_another_sites_record_is_404_and_a_role_without_audit_403(wo, p2, user_in, client_for):
    other = client_for(user_in("manager", p2))
    assert other.get(f"/api/v1/history/mes.workorder/{wo.pk}/").status_code == 404
    assert (
        other.get(f"/api/v1/history/mes.workorder/{wo.pk}/as-of/?at=2030-01-01").status_code == 404
    )
    found = other.get("/api/v1/history/", {"kind": "mes.workorder"}).json()["results"]
    assert all(e["record"] != wo.pk for e in found)
    operator = client_for(user_in("operator", wo.site))
    for url in (
        "/api/v1/history/",
        f"/api/v1/history/mes.workorder/{wo.pk}/",
        "/api/v1/history/export/",
        "/api/v1/audit/runs/",
    ):
        answer = operator.get(url)
        assert answer.status_code == 403, url
    # a manager of the site reads it; accounts are for those who see every site
    own = client_for(user_in("manager", wo.site))
    assert own.get(f"/api/v1/history/mes.workorder/{wo.pk}/").status_code == 200
    someone = user_in("operator", wo.site)
    assert own.get(f"/api/v1/history/auth.user/{someone.pk}/").status_code == 404


@pytest.mark.parametrize(
    "params,code",
    [
        ({"kind": "mes.nothing"}, "invalid_kind"),
        ({"from": "yesterday"}, "invalid_date"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "invalid_window"),
        ({"cursor": "bm9wZQ=="}, "invalid_cursor"),
        ({"limit": "0"}, "invalid_limit"),
        ({"channel": "fax"}, "invalid_channel"),
        ({"record": "12"}, "invalid_record"),
    ],
)
def test_bad_filters_are_400_with_a_code(auditor, client_for, params, code):
    answer = client_for(auditor).get("/api/v1/history/", params)
    assert answer.status_code == 400
    assert answer.json()["code"] == code


def test_search_by_user_and_window_pages_with_a_cursor_in_constant_queries(
    wo, auditor, client_for, django_assert_max_num_queries
):
    planner = WorkOrder.history.filter(id=wo.pk, history_user__isnull=False).first().history_user
    for n in range(7):
        wo.priority = n + 3
        services.save_with_history(wo, actor=planner, reason=f"shuffle {n}")
    client = client_for(auditor)
    today = timezone.now().date().isoformat()
    seen, cursor = [], None
    kinds = len(history.kinds())
    while True:
        params = {"user": planner.username, "from": today, "to": today, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        with django_assert_max_num_queries(kinds + 12):
            page = client.get("/api/v1/history/", params).json()
        seen += page["results"]
        cursor = page["next"]
        if not cursor:
            break
    ids = [(e["kind"], e["history_id"]) for e in seen]
    assert len(ids) == len(set(ids))
    assert {e["user"] for e in seen} == {planner.username}
    mine = WorkOrder.history.filter(history_user=planner).count()
    assert sum(1 for e in seen if e["kind"] == "mes.workorder") == mine
    assert [e["when"] for e in seen] == sorted((e["when"] for e in seen), reverse=True)


def test_exports_stream_csv_and_xlsx(wo, auditor, client_for):
    client = client_for(auditor)
    answer = client.get("/api/v1/history/export/", {"kind": "mes.workorder", "file": "csv"})
    assert answer.status_code == 200 and answer.streaming
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert {"status", "priority"} <= {line["field"] for line in lines}
    assert any(line["reason"] == "customer called" for line in lines)
    answer = client.get("/api/v1/history/export/", {"kind": "mes.workorder", "file": "xlsx"})
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(answer.streaming_content)), read_only=True)
    sheet_rows = list(book["history"].iter_rows(values_only=True))
    assert sheet_rows[0][0] == "when" and len(sheet_rows) == len(lines) + 1


def test_a_formula_in_a_reason_is_not_a_formula_in_the_export(wo, auditor, client_for):
    wo.priority = 9
    services.save_with_history(wo, actor=None, reason='=HYPERLINK("http://x")')
    answer = client_for(auditor).get("/api/v1/history/export/", {"kind": "mes.workorder"})
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_the_audit_pages(wo, auditor, client):
    client.force_login(auditor)
    page = client.get("/audit/", {"kind": "mes.workorder"})
    assert page.status_code == 200 and b"customer called" in page.content
    record = client.get(f"/audit/mes.workorder/{wo.pk}/", {"at": "2000-01-01T00:00"})
    assert record.status_code == 200 and b"did not exist" in record.content
    started = client.post("/audit/verify/")
    assert started.status_code == 302
    assert b"intact" in client.get("/audit/").content


def test_site_grants_have_history(p1, user_in, auditor, client_for):
    person = user_in("operator")
    grant_site_access(person, p1)
    kinds = [e["kind"] for e in _record(client_for(auditor), "auth.user", person.pk)]
    assert "guardian.userobjectpermission" in kinds


def test_hostile_inputs_are_400_or_404_not_500(auditor, client_for, wo):
    client = client_for(auditor)
    for params in ({"from": "2024-02-30"}, {"to": "9999-12-31"}, {"from": "99999-01-01"}):
        answer = client.get("/api/v1/history/", params)
        assert answer.status_code == 400, params
        assert answer.json()["code"] == "invalid_date"
    huge = client.get(f"/api/v1/history/mes.workorder/{2**70}/")
    assert huge.status_code == 404
    long_record = client.get("/api/v1/history/", {"kind": "mes.workorder", "record": "9" * 30})
    assert long_record.json()["code"] == "invalid_record"


def test_a_kind_named_many_times_is_searched_once(
    auditor, client_for, wo, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        answer = client_for(auditor).get(
            "/api/v1/history/", {"kind": ",".join(["mes.workorder"] * 300)}
        )
    assert answer.status_code == 200


def test_a_control_character_does_not_break_the_exports(wo, auditor, client_for):
    wo.priority = 4
    services.save_with_history(wo, actor=None, reason="bell\x07 and\x01 more")
    answer = client_for(auditor).get(
        "/api/v1/history/export/", {"kind": "mes.workorder", "file": "xlsx"}
    )
    assert answer.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(answer.streaming_content)), read_only=True)
    reasons = {row[6] for row in book["history"].iter_rows(values_only=True)}
    assert "bell and more" in reasons


def test_one_verification_at_a_time(auditor, client_for):
    from mes.models import AuditRun

    AuditRun.objects.create(started_by="someone")  # running
    answer = client_for(auditor).post("/api/v1/audit/runs/")
    assert answer.status_code == 409 and answer.json()["code"] == "verification_running"
