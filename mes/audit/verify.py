"""Verification of the audit chains (``manage.py verify_audit``, the auditors' page).

Per chained table, one pass in the database recomputes every row's hash from the row and
the stored hash of the entry before it, checks that the chain's sequence has no gap, and
counts the rows up to the last checkpoint. A row changed by hand (content, or its hash
without the key) fails its own hash; a row deleted from the middle of a chain leaves a gap;
a row deleted from the end of one (or a whole chain) leaves the table short of its last
checkpoint's count. An intact table gets a new checkpoint. What this does not prove:
docs/audit.md.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import asdict, dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from mes.models import AuditCheckpoint, AuditRun, AuditSchema

from .chain import Chained, chained_tables, mac, schema_mac, supported

PROBLEMS = {
    "unsealed": "the entry has no place in its chain (written around the trigger)",
    "gap": "the entry before it in its chain is missing (deleted)",
    "hash": "its content or its hash was changed after it was written",
    "short": "rows written before the last checkpoint are missing (deleted)",
    "checkpoint": "a checkpoint of this table was altered",
    "schema": "the record of this table's columns was altered",
}


@dataclass
class Break:
    table: str
    problem: str
    pk: int | None = None
    chain: int | None = None
    seq: int | None = None
    detail: str = ""

    def describe(self) -> str:
        where = f" row {self.pk} (chain {self.chain}, entry {self.seq})" if self.pk else ""
        return f"{self.table}{where}: {PROBLEMS[self.problem]}{self.detail}"


@dataclass
class Report:
    rows: int = 0
    tables: int = 0
    seconds: float = 0.0
    breaks: list[Break] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    anchor: str = ""

    @property
    def intact(self) -> bool:
        return not self.breaks


def running() -> AuditRun | None:
    """A verification started in the last hour and not finished: another one waits for it
    (one pass reads every history row; nobody may start them by the dozen)."""
    since = timezone.now() - datetime.timedelta(hours=1)
    return AuditRun.objects.filter(finished_at__isnull=True, started_at__gte=since).first()


def _checkpoint_mac(prev: str, table: str, max_pk: int, rows: int, taken_at) -> str:
    return mac(f"{prev}|{table}|{max_pk}|{rows}|{taken_at.isoformat()}")


def verify(
    *, checkpoint: bool = True, started_by: str = "", progress=None, run: AuditRun | None = None
) -> Report:
    """Verify every chained table; record the run (:class:`AuditRun`: ``run``, one already
    started, or a new one). ``progress(done, total, table)`` is called after each table."""
    report = Report()
    run = run or AuditRun.objects.create(started_by=started_by[:150])
    began = time.monotonic()
    if not supported():
        report.warnings.append(
            "The audit chains need PostgreSQL: this database (SQLite, the demo) keeps history "
            "without tamper evidence."
        )
    else:
        specs = chained_tables()
        for n, spec in enumerate(specs, 1):
            _verify_table(spec, report, checkpoint)
            if progress is not None:
                progress(n, len(specs), spec.table)
        report.tables = len(specs)
        tips = AuditCheckpoint.objects.order_by("table", "-pk").distinct("table")
        report.anchor = mac("|".join(f"{c.table}:{c.mac}" for c in tips)) if tips else ""
    report.seconds = time.monotonic() - began
    run.finished_at = timezone.now()
    run.intact = report.intact if supported() else None
    run.rows, run.tables, run.anchor = report.rows, report.tables, report.anchor
    run.breaks = [asdict(b) | {"text": b.describe()} for b in report.breaks]
    run.warnings = report.warnings
    run.save()
    return report


def _verify_table(spec: Chained, report: Report, checkpoint: bool) -> None:
    outer = connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if not outer:  # one snapshot for the count and the chain (not inside a caller's)
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        points = list(AuditCheckpoint.objects.filter(table=spec.table).order_by("pk"))
        prev = ""
        for point in points:
            if point.mac != _checkpoint_mac(
                prev, spec.table, point.max_pk, point.rows, point.taken_at
            ):
                report.breaks.append(Break(spec.table, "checkpoint", detail=f" ({point.pk})"))
                return
            prev = point.mac
        last = points[-1] if points else None
        forged = [
            v
            for v in AuditSchema.objects.filter(table=spec.table)
            if v.mac != schema_mac(spec.table, v.columns, v.since_pk)
        ]
        if forged:
            report.breaks.append(Break(spec.table, "schema", detail=f" ({forged[0].pk})"))
            return
        content, params = _content(spec, report)
        quote = connection.ops.quote_name
        pk, chain = quote(spec.pk), quote(spec.chain)
        sql = f"""
            SELECT count(*), coalesce(max(pk), 0), count(*) FILTER (WHERE pk <= %s),
                   min(pk) FILTER (WHERE problem IS NOT NULL)
            FROM (
              SELECT pk, CASE
                WHEN seq IS NULL THEN 'unsealed'
                WHEN seq <> coalesce(prev_seq, 0) + 1 THEN 'gap'
                WHEN content IS NOT NULL AND hash IS DISTINCT FROM andon_audit_mac(
                  coalesce(prev_hash, '') || '|' || seq || '|' || content::text) THEN 'hash'
                END AS problem
              FROM (
                SELECT h.{pk} AS pk, h.audit_seq AS seq, h.audit_hash AS hash,
                  lag(h.audit_seq) OVER w AS prev_seq, lag(h.audit_hash) OVER w AS prev_hash,
                  {content} AS content
                FROM {quote(spec.table)} h
                WINDOW w AS (PARTITION BY h.{chain} ORDER BY h.audit_seq, h.{pk})
              ) x
            ) y"""  # noqa: S608 - names quoted
        cursor.execute(sql, [last.max_pk if last else 0, *params])
        rows, max_pk, up_to_last, broken = cursor.fetchone()
        report.rows += rows
        if broken is not None:
            report.breaks.append(_describe(cursor, spec, broken))
            return
        if last is not None and up_to_last < last.rows:
            report.breaks.append(
                Break(
                    spec.table,
                    "short",
                    detail=f": {up_to_last} of the {last.rows} rows up to {last.max_pk} "
                    f"checked on {last.taken_at:%Y-%m-%d %H:%M} are left",
                )
            )
            return
        if checkpoint and rows and (last is None or max_pk > last.max_pk):
            now = timezone.now()
            AuditCheckpoint.objects.create(
                table=spec.table,
                max_pk=max_pk,
                rows=rows,
                taken_at=now,
                mac=_checkpoint_mac(prev, spec.table, max_pk, rows, now),
            )


def _content(spec: Chained, report: Report) -> tuple[str, list]:
    """The SQL of the JSON a row's hash covers: the row's columns as they were when it was
    written (older rows: the columns of their :class:`AuditSchema` version)."""
    now = spec.columns()
    versions = list(AuditSchema.objects.filter(table=spec.table).order_by("since_pk", "pk"))
    whole = "(to_jsonb(h) - 'audit_seq' - 'audit_hash')"
    if not versions or versions[-1].columns != now:
        report.warnings.append(f"{spec.table}: columns not recorded since the last migrate")
    cases, params = [], []
    quote = connection.ops.quote_name
    for version, after in zip(versions, versions[1:], strict=False):
        if version.columns == now:
            expression, extra = whole, []
        elif set(version.columns) <= set(now):
            expression = (
                "(SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) "
                "FROM jsonb_each(to_jsonb(h)) e WHERE e.key = ANY(%s))"
            )
            extra = [version.columns]
        else:
            gone = ", ".join(sorted(set(version.columns) - set(now)))
            report.warnings.append(
                f"{spec.table}: rows up to {after.since_pk} cover columns since dropped "
                f"({gone}); their links are checked, not their content"
            )
            expression, extra = "NULL::jsonb", []
        cases.append(f"WHEN h.{quote(spec.pk)} <= %s THEN {expression}")
        params += [after.since_pk, *extra]
    if not cases:
        return whole, []
    return f"CASE {' '.join(cases)} ELSE {whole} END", params


def _describe(cursor, spec: Chained, pk: int) -> Break:
    quote = connection.ops.quote_name
    table, key = quote(spec.table), quote(spec.pk)
    cursor.execute(f"SELECT {quote(spec.chain)}, audit_seq FROM {table} WHERE {key} = %s", [pk])  # noqa: S608
    chain, seq = cursor.fetchone()
    cursor.execute(
        f"""SELECT CASE WHEN seq IS NULL THEN 'unsealed'
                 WHEN seq <> coalesce(prev_seq, 0) + 1 THEN 'gap' ELSE 'hash' END
            FROM (SELECT h.{quote(spec.pk)} AS pk, h.audit_seq AS seq,
                         lag(h.audit_seq) OVER w AS prev_seq
                  FROM {quote(spec.table)} h WHERE h.{quote(spec.chain)} = %s
                  WINDOW w AS (ORDER BY h.audit_seq, h.{quote(spec.pk)})) x
            WHERE pk = %s""",  # noqa: S608 - names quoted
        [chain, pk],
    )
    return Break(spec.table, cursor.fetchone()[0], pk=pk, chain=chain, seq=seq)
