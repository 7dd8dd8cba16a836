"""Set-based writes of many rows at once, for the bulk paths (the sweep, ERP ingest).

Django's ``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` per field and row: correct, but
compiling it costs more than the update itself (100 rows, 7 fields: ~130 ms of Python for a
15 ms statement). On PostgreSQL :func:`update_rows` sends the values as one array per column
and joins them (``UPDATE … FROM unnest(…)``): one statement, built in linear time. Elsewhere
(SQLite: the demo) it falls back to ``bulk_update``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router
from django.db.models import Model


def update_rows(model: type[Model], objs: Sequence[Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of ``objs`` (saved rows of ``model``) in one statement; no signals,
    no history (the caller writes its history rows). Returns the number of rows updated."""
    if not objs:
        return 0
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return model._default_manager.using(alias).bulk_update(objs, fields)
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    arrays, casts = [], []
    for field in columns:
        arrays.append(
            [field.get_db_prep_save(getattr(obj, field.attname), connection) for obj in objs]
        )
        casts.append(f"%s::{_array_type(field, connection)}")
    names = [quote(f.column) for f in columns]
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
        f"FROM unnest({', '.join(casts)}) AS v({', '.join(names)}) "
        f"WHERE t.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount


def _array_type(field, connection) -> str:
    """The column's type as an array (a foreign key's is its target's, an auto key's bigint)."""
    return f"{field.db_type(connection)}[]"
