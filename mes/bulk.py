"""Set-based writes of many rows at once, for the bulk paths (the sweep, ERP ingest).

Django's ``bulk_update`` builds one ``CASE WHEN pk = … THEN …`` per field and row: correct, but
compiling it costs more than the update itself (100 rows, 7 fields: ~130 ms of Python for a
15 ms statement). On PostgreSQL :func:`update_rows` sends the values as one array per column
and joins them (``UPDATE … FROM unnest(…)``): one statement, built in linear time. Elsewhere
(SQLite: the demo) it falls back to ``bulk_update``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

from django.db import connections, models, router
from django.db.models import Model
from django.utils import timezone

from mes.audit.context import current_channel


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
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - names quoted
        f"FROM unnest({', '.join(casts)}) AS v({', '.join(names)}) "
        f"WHERE t.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        return cursor.rowcount


def _array_type(field, connection) -> str:
    """The column's type as an array (a foreign key's is its target's, an auto key's bigint)."""
    return f"{field.db_type(connection)}[]"


def insert_for_each(
    model: type[Model], common: dict, field: str, values: Sequence
) -> list[Model] | None:
    """Insert one row per value of ``field`` (e.g. a recipient), every other column the same
    (``common``: field name -> value; the others take their defaults), in one
    ``INSERT … SELECT … FROM unnest(…) RETURNING``: a fan-out of hundreds of rows costs one
    array, not hundreds of rows of parameters. Returns the rows, saved (None where the
    database is not PostgreSQL: the caller uses ``bulk_create``). No signals."""
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return None
    if not values:
        return []
    rows = [model(**common, **{field: value}) for value in values]
    meta = model._meta
    varying = meta.get_field(field)
    fixed = [
        f
        for f in meta.concrete_fields
        if f is not varying and not (f.primary_key and getattr(rows[0], f.attname) is None)
    ]
    quote = connection.ops.quote_name
    params = [[varying.get_db_prep_save(getattr(row, varying.attname), connection) for row in rows]]
    params += [f.get_db_prep_save(f.pre_save(rows[0], True), connection) for f in fixed]
    placeholders = ", ".join(f"%s::{f.db_type(connection)}" for f in fixed)
    columns = ", ".join(quote(f.column) for f in [varying, *fixed])
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 - names quoted
        f"SELECT v, {placeholders} "
        f"FROM unnest(%s::{varying.db_type(connection)}[]) WITH ORDINALITY AS u(v, n) "
        f"ORDER BY n RETURNING {quote(meta.pk.column)}, {quote(varying.column)}"
    )
    params = [*params[1:], params[0]]  # in the statement, the array comes after the others
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    by_value = {value: pk for pk, value in returned}
    for row, (pk, _value) in zip(rows, returned, strict=True):
        key = getattr(row, varying.attname)  # matched by value where the values are distinct
        row.pk = by_value[key] if len(by_value) == len(rows) else pk
        row._state.adding, row._state.db = False, connection.alias
    return rows


def insert_new_rows(model: type[Model], objs: Sequence[Model]) -> Sequence[Model]:
    """Insert unsaved instances of ``model`` and give them their primary keys: on PostgreSQL
    the keys come from the table's sequence in one query and the rows go in one ``COPY``
    (Django's ``bulk_create`` compiles a parameter per field and row: for 5,000 operations,
    more Python than the insert). Fields' ``pre_save`` runs (``auto_now``); no signals, no
    history (see :func:`insert_history`). Elsewhere (SQLite: the demo): ``bulk_create``."""
    if not objs:
        return objs
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return model._default_manager.using(alias).bulk_create(objs)
    meta = model._meta
    fields = meta.concrete_fields
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objs)],
        )
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
        columns = ", ".join(quote(f.column) for f in fields)
        copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        getters = [_getter(f, connection) for f in fields]
        with cursor.cursor.copy(copy_sql) as copy:
            for obj in objs:
                copy.write_row([get(obj) for get in getters])
    for obj in objs:
        obj._state.adding, obj._state.db = False, alias
    return objs


def insert_values(model: type[Model], rows: Sequence[dict]) -> None:
    """Insert rows of ``model`` given as ``{attname: value}`` (every row the same keys; the
    other fields take their defaults, ``auto_now`` fields now), with no model instance built:
    on PostgreSQL one ``COPY``, the keys left to the table. For rows nobody needs back as
    objects (a routing's operations: their history is copied from the table). No signals."""
    if not rows:
        return
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model._default_manager.using(alias).bulk_create([model(**row) for row in rows])
        return
    meta = model._meta
    given = list(rows[0])
    fields = [meta.get_field(name) for name in given]
    if any(not _is_plain(f) or f.attname != name for f, name in zip(fields, given, strict=True)):
        raise ValueError(f"insert_values takes plain fields by attname: {given}")
    now = timezone.now()
    defaults = []  # (field, value or a callable for each row)
    for field in meta.concrete_fields:
        if field.attname in rows[0] or field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults.append((field, now))
        elif field.has_default() and callable(field.default):
            defaults.append((field, field.default))
        else:
            defaults.append((field, field.get_db_prep_save(field.get_default(), connection)))
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [*fields, *(f for f, _v in defaults)])
    fixed = [None if callable(v) else v for _f, v in defaults]
    made = [(n, f, v) for n, (f, v) in enumerate(defaults) if callable(v)]
    with connection.cursor() as cursor:
        copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                extra = fixed
                if made:
                    extra = list(fixed)
                    for n, field, default in made:
                        extra[n] = field.get_db_prep_save(default(), connection)
                copy.write_row([*(row[name] for name in given), *extra])


# Fields whose Python value PostgreSQL's driver takes as it is (their get_db_prep_save and
# pre_save change nothing on PostgreSQL); exact classes: a subclass may convert.
_PLAIN_FIELDS = {
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.DateField,
    models.DateTimeField,
    models.DecimalField,
    models.IntegerField,
    models.PositiveBigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.TextField,
}


def _is_plain(field) -> bool:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return False
    if field.is_relation:
        return field.many_to_one and _is_plain(field.target_field)
    return type(field) in _PLAIN_FIELDS


def _getter(field, connection):
    """How to read ``field``'s value for the database off an unsaved instance."""
    if not _is_plain(field):
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)
    if field.is_relation:  # assigned before its target was saved: the target's key now

        def related(obj, attname=field.attname):
            value = getattr(obj, attname)
            if value is None and field.is_cached(obj):
                target = field.get_cached_value(obj)
                value = None if target is None else target.pk
                setattr(obj, attname, value)
            return value

        return related
    return operator.attrgetter(field.attname)


def insert_history(
    model: type[Model],
    key: str,
    reasons: dict,
    *,
    user_id: int | None,
    history_type: str,
    request_id: str = "",
    when=None,
) -> None:
    """One simple-history row per row of ``model`` whose field ``key`` is a key of
    ``reasons`` (key value -> change reason), copied from the row as it now is inside the
    database (``INSERT … SELECT``): history costs no Python per row. ``history_type``: ``+``
    created, ``~`` changed."""
    if not reasons:
        return
    when = when or timezone.now()
    history = model.history.model
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        rows = list(model._default_manager.using(alias).filter(**{f"{key}__in": list(reasons)}))
        for row in rows:
            row._change_reason = reasons[getattr(row, model._meta.get_field(key).attname)]
            row._history_date = when
        model.history.bulk_history_create(
            rows,
            update=history_type == "~",
            default_user=None if user_id is None else _user(user_id),
            custom_historical_attrs={"request_id": request_id, "channel": current_channel()},
        )
        return
    quote = connection.ops.quote_name
    stamped = {
        "history_date": when,
        "history_type": history_type,
        "history_user_id": user_id,
        "request_id": request_id,
        "channel": current_channel(),
    }
    selected, params = [], []  # (history column, what goes in it), the stamps' values
    for field in history._meta.concrete_fields:
        if field.attname in ("history_id", "audit_seq", "audit_hash"):  # the trigger's
            continue
        if field.attname == "history_change_reason":
            selected.append((field.column, "v.reason"))
        elif field.attname in stamped:
            selected.append((field.column, "%s"))
            params.append(stamped[field.attname])
        else:
            selected.append((field.column, f"t.{quote(model._meta.get_field(field.name).column)}"))
    columns = ", ".join(quote(c) for c, _s in selected)
    values = ", ".join(s for _c, s in selected)
    field = model._meta.get_field(key)
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} ({columns}) "  # noqa: S608 - names quoted
        f"SELECT {values} FROM {quote(model._meta.db_table)} AS t "
        f"JOIN unnest(%s::{_array_type(field, connection)}, %s::text[]) AS v(key, reason) "
        f"ON t.{quote(field.column)} = v.key ORDER BY t.{quote(model._meta.pk.column)}"
    )
    keys = list(reasons)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, keys, [reasons[k][:100] for k in keys]])


def _user(user_id: int):
    from django.contrib.auth import get_user_model

    return get_user_model()(pk=user_id)
