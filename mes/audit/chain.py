"""The audit chains: every history row and timeline entry is linked to the one before it in
its chain (one chain per record) by a keyed hash that PostgreSQL computes as the row is
inserted, whatever wrote it (a service's save, a bulk ``COPY``, an ``INSERT … SELECT``).

Per chained table, :func:`install` (run after every ``migrate``) creates a ``BEFORE INSERT``
trigger that reads the chain's last entry through the unique ``(chain, audit_seq)`` index
and sets::

    audit_seq  = previous audit_seq + 1
    audit_hash = HMAC-SHA256(key, previous audit_hash | audit_seq | the row as JSON)

The unique index serialises the writes to one chain without any lock of its own: of two
transactions writing the same record's history at once, the second waits on the first's
index entry and then fails (it is rolled back; nothing forks). The services lock a record
before they change it, so they wait at that lock instead; different chains never wait for
each other. (A lock per chain would not do: an ERP batch writes thousands of chains in one
transaction, more locks than the server's lock table holds.)

The key (``settings.AUDIT_KEY``) is never stored in the database: each connection brings
its HMAC pads in its start-up options (``andon.audit_ipad`` / ``andon.audit_opad``), and an
insert on a connection without them fails. ``mes.audit.verify`` recomputes the hashes.

A table's hashes cover the columns it had when the row was written: :class:`AuditSchema`
records each column set with the last row written before it, so a migration that adds a
column does not break older links. SQLite (the demo) has no chains (see docs/audit.md).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from mes.models import AuditSchema, ChainedEntry

AUDIT_COLUMNS = ("audit_seq", "audit_hash")

MAC_SQL = """
CREATE OR REPLACE FUNCTION andon_audit_mac(msg text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT encode(sha256(decode(current_setting('andon.audit_opad'), 'hex') ||
    sha256(decode(current_setting('andon.audit_ipad'), 'hex') || convert_to(msg, 'UTF8'))),
    'hex')
$$;
"""

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  prev_seq bigint;
  prev_hash text;
BEGIN
  IF TG_TABLE_NAME = {table_literal} THEN
    SELECT audit_seq, audit_hash INTO prev_seq, prev_hash FROM {table}
      WHERE {chain} = NEW.{chain} AND audit_seq IS NOT NULL ORDER BY audit_seq DESC LIMIT 1;
  ELSE  -- the table was renamed by a migration since the install: look it up by name
    EXECUTE format('SELECT audit_seq, audit_hash FROM %I.%I WHERE %I = $1 AND audit_seq '
                   'IS NOT NULL ORDER BY audit_seq DESC LIMIT 1',
                   TG_TABLE_SCHEMA, TG_TABLE_NAME, {chain_literal})
      INTO prev_seq, prev_hash USING NEW.{chain};
  END IF;
  NEW.audit_seq := coalesce(prev_seq, 0) + 1;
  NEW.audit_hash := andon_audit_mac(coalesce(prev_hash, '') || '|' || NEW.audit_seq || '|' ||
    (to_jsonb(NEW) - 'audit_seq' - 'audit_hash')::text);
  RETURN NEW;
END
$$;
CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {table} ({chain}, audit_seq);
CREATE OR REPLACE TRIGGER andon_audit_chain BEFORE INSERT ON {table}
  FOR EACH ROW EXECUTE FUNCTION {function}();
"""

# The first install seals the rows written before chains existed, in the order they were
# written (one pass per table, in the database).
SEAL_SQL = """
DO $$
DECLARE
  r record;
  last_chain bigint;
  prev_seq bigint;
  prev_hash text;
BEGIN
  FOR r IN SELECT {pk} AS pk, {chain} AS chain FROM {table} ORDER BY {chain}, {pk} LOOP
    IF last_chain IS DISTINCT FROM r.chain THEN
      prev_seq := 0; prev_hash := ''; last_chain := r.chain;
    END IF;
    prev_seq := prev_seq + 1;
    UPDATE {table} t SET audit_seq = prev_seq, audit_hash = andon_audit_mac(
        prev_hash || '|' || prev_seq || '|' || (to_jsonb(t) - 'audit_seq' - 'audit_hash')::text)
      WHERE t.{pk} = r.pk RETURNING audit_hash INTO prev_hash;
  END LOOP;
END
$$;
"""


@dataclass(frozen=True)
class Chained:
    """A chained table: its primary key column and the column naming each row's chain."""

    model: type
    table: str
    pk: str
    chain: str

    def columns(self) -> list[str]:
        """The columns the hashes cover now (every column but the chain's own)."""
        with connection.cursor() as cursor:
            described = connection.introspection.get_table_description(cursor, self.table)
        return sorted(c.name for c in described if c.name not in AUDIT_COLUMNS)


def chained_tables() -> list[Chained]:
    """Every table whose rows are chained: simple-history's (a chain per record), their
    many-to-many snapshots (a chain per link) and the timelines (``audit_chain``)."""
    found = []
    for model in apps.get_models():
        if not issubclass(model, ChainedEntry):
            continue
        meta = model._meta
        if getattr(model, "audit_chain", None):
            chain = meta.get_field(model.audit_chain).column
        else:  # simple-history's: the record's key (a snapshot's: the link's)
            chain = meta.get_field(model.instance_type._meta.pk.name).column
        found.append(Chained(model, meta.db_table, meta.pk.column, chain))
    return sorted(found, key=lambda c: c.table)


def supported() -> bool:
    return connection.vendor == "postgresql"


def install(**kwargs) -> None:
    """Create (or refresh) the chains' triggers and indexes, record each table's columns,
    and seal the rows of a table that has never been sealed. Idempotent; runs after every
    ``migrate`` (``post_migrate``)."""
    if not supported():
        return
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(MAC_SQL)
        for spec in chained_tables():
            names = {
                "table": quote(spec.table),
                "pk": quote(spec.pk),
                "chain": quote(spec.chain),
                "function": quote(f"andon_chain_{spec.table}"[:63]),
                "index": quote(f"{spec.table}_audit_chain"[:63]),
                "table_literal": "'" + spec.table + "'",
                "chain_literal": "'" + spec.chain + "'",
            }
            cursor.execute(TRIGGER_SQL.format(**names))
            if _record_columns(cursor, spec) and _never_sealed(cursor, names["table"]):
                cursor.execute(SEAL_SQL.format(**names))  # history from before the chains


def _never_sealed(cursor, table: str) -> bool:
    """Rows without a hash, and none with one: a table from before the chains (a table
    whose rows were sealed once is never sealed again: an emptied hash is a break)."""
    cursor.execute(
        f"SELECT bool_or(audit_hash = ''), bool_or(audit_hash <> '') FROM {table}"  # noqa: S608
    )
    unsealed, sealed = cursor.fetchone()
    return bool(unsealed) and not sealed


def _record_columns(cursor, spec: Chained) -> bool:
    """Record the table's columns if they changed; True on the table's first install."""
    columns = spec.columns()
    last = AuditSchema.objects.filter(table=spec.table).order_by("-since_pk", "-pk").first()
    if last is not None and last.columns == columns:
        return False
    since = 0
    if last is not None:  # the rows so far were hashed over the columns they had
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT coalesce(max({quote(spec.pk)}), 0) FROM {quote(spec.table)}")  # noqa: S608
        since = cursor.fetchone()[0]
    AuditSchema.objects.create(
        table=spec.table,
        columns=columns,
        since_pk=since,
        mac=schema_mac(spec.table, columns, since),
    )
    return last is None


def mac(message: str) -> str:
    """HMAC-SHA256 under the audit key: what the bookkeeping rows (column sets,
    checkpoints, anchors) are signed with, as the trigger signs the history rows."""
    return hmac.new(settings.AUDIT_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def schema_mac(table: str, columns: list[str], since_pk: int) -> str:
    """The keyed MAC of a table's column set: a row added or changed by hand (to make the
    verification skip the content of older rows) fails it."""
    return mac(f"{table}|{since_pk}|{','.join(columns)}")


def unchain(app_label: str):
    """A migration operation for the migration that gives an app's tables their audit
    columns: reversed, it drops their triggers before the columns go (forward, nothing:
    the triggers come after ``migrate``, from :func:`install`)."""
    from django.db import migrations

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.connection.ops.quote_name
        for model in apps.get_app_config(app_label).get_models():
            if any(f.name == "audit_seq" for f in model._meta.fields):
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS andon_audit_chain ON {quote(model._meta.db_table)}"
                )

    return migrations.RunPython(migrations.RunPython.noop, drop, elidable=False)
