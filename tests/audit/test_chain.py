"""The audit chains (mes.audit): every history row and timeline entry is linked, per
record, by a keyed hash the database computes; verify_audit finds a changed or deleted row."""

import hashlib
import hmac
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from mes import services
from mes.audit.chain import chained_tables
from mes.audit.verify import verify
from mes.models import AuditCheckpoint, AuditRun, Item, WorkOrder
from tests.factories import make_work_order

pytestmark = pytest.mark.usefixtures("require_postgres")


def _sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def _order_with_history(p1):
    wo = make_work_order(p1, erp_number="A/1", qty="5")
    for n in range(3):
        wo.priority = n + 1
        services.save_with_history(wo, actor=None, reason=f"change {n}")
    return wo


@pytest.mark.django_db
def test_every_history_table_and_the_timeline_are_chained():
    tables = {c.table: c for c in chained_tables()}
    assert "mes_historicalworkorder" in tables
    assert tables["mes_historicalworkorder"].chain == "id"
    assert tables["exceptions_exceptionevent"].chain == "exception_id"
    assert tables["mes_historicaluser_groups"].chain == "id"  # per link, across snapshots
    triggers = {
        t
        for (t,) in _sql(
            "SELECT event_object_table FROM information_schema.triggers "
            "WHERE trigger_name = 'andon_audit_chain'"
        )
    }
    assert set(tables) <= triggers


@pytest.mark.django_db
def test_rows_link_to_the_one_before_by_a_keyed_hash(p1):
    wo = _order_with_history(p1)
    rows = list(WorkOrder.history.filter(id=wo.pk).order_by("audit_seq"))
    assert [r.audit_seq for r in rows] == [1, 2, 3, 4]
    # recomputed here, independently of the database: HMAC(key, prev | seq | row as JSON)
    prev = ""
    for row in rows:
        (content,) = _sql(
            "SELECT (to_jsonb(h) - 'audit_seq' - 'audit_hash')::text "
            "FROM mes_historicalworkorder h WHERE history_id = %s",
            [row.history_id],
        )[0]
        assert json.loads(content)["priority"] == row.priority
        expected = hmac.new(
            settings.AUDIT_KEY.encode(),
            f"{prev}|{row.audit_seq}|{content}".encode(),
            hashlib.sha256,
        ).hexdigest()
        assert row.audit_hash == expected
        prev = row.audit_hash


@pytest.mark.django_db
def test_intact_history_verifies_and_records_a_checkpoint(p1):
    _order_with_history(p1)
    report = verify()
    assert report.intact, [b.describe() for b in report.breaks]
    assert report.rows >= 4
    assert AuditCheckpoint.objects.filter(table="mes_historicalworkorder").exists()
    assert AuditRun.objects.get().intact is True


@pytest.mark.django_db
def test_an_sql_update_of_a_history_row_is_detected(p1):
    wo = _order_with_history(p1)
    second = WorkOrder.history.filter(id=wo.pk).order_by("audit_seq")[1]
    _sql(
        "UPDATE mes_historicalworkorder SET history_change_reason = 'nothing to see' "
        "WHERE history_id = %s",
        [second.history_id],
    )
    report = verify()
    (broken,) = report.breaks
    assert (broken.table, broken.pk, broken.seq, broken.problem) == (
        "mes_historicalworkorder",
        second.history_id,
        2,
        "hash",
    )


@pytest.mark.django_db
def test_a_rehashed_row_without_the_key_is_detected(p1):
    wo = _order_with_history(p1)
    last = WorkOrder.history.filter(id=wo.pk).order_by("audit_seq").last()
    # the forger knows the scheme but not the key
    _sql(
        "UPDATE mes_historicalworkorder h SET priority = 9, audit_hash = encode(sha256("
        "convert_to(%s || '|' || audit_seq || '|' || "
        "(to_jsonb(h) - 'audit_seq' - 'audit_hash')::text, 'UTF8')), 'hex') "
        "WHERE history_id = %s",
        [WorkOrder.history.filter(id=wo.pk).order_by("audit_seq")[2].audit_hash, last.history_id],
    )
    assert [b.problem for b in verify().breaks] == ["hash"]


@pytest.mark.django_db
def test_a_deleted_row_in_the_middle_leaves_a_gap(p1):
    wo = _order_with_history(p1)
    second = WorkOrder.history.filter(id=wo.pk).order_by("audit_seq")[1]
    _sql("DELETE FROM mes_historicalworkorder WHERE history_id = %s", [second.history_id])
    (broken,) = verify().breaks
    assert (broken.problem, broken.seq) == ("gap", 3)


@pytest.mark.django_db
def test_a_deleted_last_row_is_detected_against_the_checkpoint(p1):
    wo = _order_with_history(p1)
    assert verify().intact
    last = WorkOrder.history.filter(id=wo.pk).order_by("audit_seq").last()
    _sql("DELETE FROM mes_historicalworkorder WHERE history_id = %s", [last.history_id])
    (broken,) = verify().breaks
    assert (broken.table, broken.problem) == ("mes_historicalworkorder", "short")


@pytest.mark.django_db
def test_an_altered_checkpoint_is_detected(p1):
    _order_with_history(p1)
    assert verify().intact
    AuditCheckpoint.objects.filter(table="mes_historicalworkorder").update(rows=1)
    assert [b.problem for b in verify().breaks] == ["checkpoint"]


@pytest.mark.django_db
def test_an_insert_without_the_key_fails(p1):
    wo = _order_with_history(p1)
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("RESET andon.audit_ipad")
        cursor.execute(
            "INSERT INTO mes_historicalitem (id, code, name, unit, history_date, "
            "history_type, request_id, channel, audit_hash) "
            "SELECT id, code, name, unit, now(), '~', '', '', '' FROM mes_item LIMIT 1"
        )
    assert Item.objects.exists() and wo.pk


@pytest.mark.django_db
def test_verify_audit_exit_codes(p1, capsys):
    _order_with_history(p1)
    call_command("verify_audit")
    assert "intact" in capsys.readouterr().out
    _sql("UPDATE mes_historicalworkorder SET priority = 7 WHERE audit_seq = 1")
    with pytest.raises(SystemExit) as exited:
        call_command("verify_audit")
    assert exited.value.code == 1
    assert "BROKEN mes_historicalworkorder" in capsys.readouterr().out


def test_no_model_with_history_has_a_field_named_like_an_audit_column():
    """simple-history copies the model's fields next to ours: a model field ``channel`` (or
    ``request_id``, ``audit_seq``, ``audit_hash``) would collide with the audit's."""
    from mes.audit.history import kinds

    ours = {"channel", "request_id", "audit_seq", "audit_hash"}
    for kind, model in kinds().items():
        names = {f.name for f in model.instance_type._meta.concrete_fields}
        assert not names & ours, kind


@pytest.mark.django_db
def test_a_forged_column_record_cannot_switch_the_content_check_off(p1):
    """Without the key, a column set added by hand (to make older rows "unverifiable") is a
    break, not a warning."""
    from mes.models import AuditSchema

    wo = _order_with_history(p1)
    _sql("UPDATE mes_historicalworkorder SET priority = 7 WHERE id = %s AND audit_seq = 2", [wo.pk])
    AuditSchema.objects.create(table="mes_historicalworkorder", columns=["zz"], since_pk=0)
    real = (
        AuditSchema.objects.filter(table="mes_historicalworkorder").exclude(columns=["zz"]).first()
    )
    AuditSchema.objects.create(
        table="mes_historicalworkorder", columns=real.columns, since_pk=10**9, mac="0" * 64
    )
    problems = {b.problem for b in verify().breaks if b.table == "mes_historicalworkorder"}
    assert problems == {"schema"}
