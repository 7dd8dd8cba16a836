"""Auditors' reading of history: one record's complete history, a search over every history
table, and what a record looked like at a given moment.

Every model with simple-history is a *kind* (``mes.workorder``, ``exceptions.exceptionticket``,
``auth.user`` ...). A reader sees the history of the records of their sites (through the
model's ``site_path``, on the history rows themselves, so a deleted record's history stays
readable); shared configuration to everyone allowed to audit; accounts, their grants and
tokens only to those who see every site.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.utils.translation import gettext as _

from mes.errors import InvalidInput, NotFound, NotPermitted
from mes.models.access import every_site_id, sees_every_site, visible_site_ids
from mes.models.base import GLOBAL

AUDIT_PERM = "mes.view_audit"
# Columns of a history row that are the audit's own, not the record's.
AUDIT_FIELDS = frozenset(
    {
        "history_id",
        "history_date",
        "history_change_reason",
        "history_type",
        "history_user",
        "history_user_id",
        "history_relation",
        "request_id",
        "channel",
        "audit_seq",
        "audit_hash",
    }
)
TYPES = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Change:
    field: str
    old: object
    new: object


@dataclass
class Entry:
    kind: str
    record: int | str
    history_id: int
    seq: int | None
    when: dt.datetime
    type: str
    user: str
    reason: str
    request_id: str
    channel: str
    changes: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "record": self.record,
            "history_id": self.history_id,
            "seq": self.seq,
            "when": self.when.isoformat(),
            "type": self.type,
            "user": self.user,
            "reason": self.reason,
            "request_id": self.request_id,
            "channel": self.channel,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
        }


@functools.cache
def kinds() -> dict[str, type]:
    """Kind (the model's label, lower case) -> its history model (the models are fixed once
    the apps are loaded: found once per process)."""
    found = {}
    for model in apps.get_models():
        live = getattr(model, "instance_type", None)
        if live is None or not hasattr(model, "history_type"):
            continue
        found[live._meta.label_lower] = model
    return dict(sorted(found.items()))


def history_model(kind: str):
    model = kinds().get(kind)
    if model is None:
        raise InvalidInput(
            _("No such kind of record: %(kind)s.") % {"kind": kind},
            code="invalid_kind",
            fields={"kind": [_("Not one of the kinds in the history.")]},
        )
    return model


def require_auditor(user) -> None:
    if not (user and user.is_authenticated and user.is_active and user.has_perm(AUDIT_PERM)):
        raise NotPermitted(_("You are not allowed to read the audit."))


def _accounts() -> set[str]:
    return {
        get_user_model()._meta.label_lower,
        "mes.apitoken",
        "mes.accountprofile",
        "mes.accessreview",
        "guardian.userobjectpermission",
        "guardian.groupobjectpermission",
    }


def reads_every_site(user) -> bool:
    """Every site, through every limit the request carries (a token limited to some sites
    limits a superuser too): what accounts and grants need."""
    return sees_every_site(user) and every_site_id() <= visible_site_ids(user)


def scoped(kind: str, user):
    """The history rows of ``kind`` that ``user`` may read."""
    model = history_model(kind)
    live = model.instance_type
    rows = model.objects.all()
    if reads_every_site(user):
        return rows
    if kind in _accounts() or getattr(live, "scope", None) not in (None, GLOBAL):
        return rows.none()
    path = getattr(live, "site_path", None)
    if path is None:
        return rows if getattr(live, "scope", None) == GLOBAL else rows.none()
    sites = visible_site_ids(user)
    if not _on_history(model, path):  # a rule's sites, a site itself: the live records'
        return rows.filter(
            **{f"{live._meta.pk.attname}__in": live.objects.visible_to(user).values("pk")}
        )
    return rows.filter(**{f"{path}__in": sites})


def _on_history(model, path: str) -> bool:
    """Whether the history rows themselves hold the way to their site (a foreign key
    simple-history copied), or only the live records do (many-to-many, the site's own key)."""
    try:
        model._meta.get_field(path.split("__")[0])
    except FieldDoesNotExist:
        return False
    return True


def tracked(model) -> list:
    return [f for f in model._meta.concrete_fields if f.attname not in AUDIT_FIELDS]


def _entry(kind: str, row, prev, users: dict) -> Entry:
    fields = tracked(type(row))
    changes = []
    for f in fields:
        new = getattr(row, f.attname)
        if prev is None:
            if row.history_type == "+" and new not in (None, ""):
                changes.append(Change(f.attname, None, _plain(new)))
        elif getattr(prev, f.attname) != new:
            changes.append(Change(f.attname, _plain(getattr(prev, f.attname)), _plain(new)))
    pk_name = row.instance_type._meta.pk.attname
    return Entry(
        kind=kind,
        record=getattr(row, pk_name),
        history_id=row.history_id,
        seq=row.audit_seq,
        when=row.history_date,
        type=TYPES.get(row.history_type, row.history_type),
        user=users.get(row.history_user_id, ""),
        reason=row.history_change_reason or "",
        request_id=row.request_id,
        channel=row.channel,
        changes=changes,
    )


def _plain(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def _usernames(ids) -> dict:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def record_history(kind: str, pk, user) -> list[Entry]:
    """Every change of one record, oldest first (for an account: with its site grants,
    and its tokens' changes)."""
    require_auditor(user)
    model = history_model(kind)
    live = model.instance_type
    if not 0 < int(pk) < 2**63:
        raise NotFound(_("No such record."))
    rows = list(
        scoped(kind, user)
        .filter(**{live._meta.pk.attname: pk})
        .order_by("history_date", "audit_seq", "history_id")
    )
    if not rows:  # no such record, or not one of the reader's sites: the same answer
        raise NotFound(_("No such record."))
    users = _usernames(r.history_user_id for r in rows)
    entries, prev = [], None
    for row in rows:
        entries.append(_entry(kind, row, prev, users))
        prev = row
    if kind == get_user_model()._meta.label_lower:
        entries += _related(user, "guardian.userobjectpermission", user_id=pk)
        entries += _related(user, "mes.apitoken", user_id=pk)
        entries.sort(key=lambda e: (e.when, e.history_id))
    return entries


def _related(reader, kind: str, **match) -> list[Entry]:
    if kind not in kinds():
        return []
    rows = list(scoped(kind, reader).filter(**match).order_by("history_date", "history_id"))
    previous = _previous_rows(kind, rows)
    users = _usernames(r.history_user_id for r in rows)
    return [_entry(kind, r, previous.get(r.history_id), users) for r in rows]


def as_of(kind: str, pk, at: dt.datetime, user) -> dict | None:
    """The record as it was at ``at``: its fields, or None where it did not exist then."""
    require_auditor(user)
    model = history_model(kind)
    live = model.instance_type
    row = (
        scoped(kind, user)
        .filter(**{live._meta.pk.attname: pk, "history_date__lte": at})
        .order_by("-history_date", "-audit_seq", "-history_id")
        .first()
    )
    if row is None or row.history_type == "-":
        return None
    return {
        "fields": {f.attname: _plain(getattr(row, f.attname)) for f in tracked(model)},
        "as_of": row.history_date.isoformat(),
        "history_id": row.history_id,
    }


@dataclass
class Search:
    kinds: list[str] = field(default_factory=list)
    username: str = ""
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    site: int | None = None
    reason: str = ""
    channel: str = ""
    record: str = ""


def _filtered(kind: str, user, query: Search, users: dict):
    rows = scoped(kind, user)
    if query.username:
        rows = rows.filter(history_user_id__in=list(users))
    if query.start:
        rows = rows.filter(history_date__gte=query.start)
    if query.end:
        rows = rows.filter(history_date__lt=query.end)
    if query.reason:
        rows = rows.filter(history_change_reason__icontains=query.reason)
    if query.channel:
        rows = rows.filter(channel=query.channel)
    if query.record:
        rows = rows.filter(**{rows.model.instance_type._meta.pk.attname: query.record})
    if query.site is not None:
        live = rows.model.instance_type
        path = getattr(live, "site_path", None)
        if path is None:
            return rows.none()
        if not _on_history(rows.model, path):
            ids = live.objects.filter(**{path: query.site}).values("pk")
            return rows.filter(**{f"{live._meta.pk.attname}__in": ids})
        rows = rows.filter(**{path: query.site})
    return rows


def search(user, query: Search, *, before: tuple | None = None, limit: int = 100):
    """The newest ``limit`` changes matching ``query`` across the kinds asked (all by
    default), after the cursor ``before`` ((when, kind, history_id) of the last one shown).
    A query per kind and two for the page, whatever the number of rows."""
    require_auditor(user)
    users = {}
    if query.username:
        users = dict(
            get_user_model().objects.filter(username=query.username).values_list("pk", "username")
        )
    chosen = query.kinds or list(kinds())
    per_kind = []
    for kind in chosen:
        rows = _filtered(kind, user, query, users)
        if before is not None:
            rows = rows.filter(_older(kind, *before))
        picked = list(rows.order_by("-history_date", "-history_id")[:limit])
        per_kind.append([(kind, r) for r in picked])
    merged = heapq.merge(*per_kind, key=_order, reverse=True)
    page = [kr for _n, kr in zip(range(limit), merged, strict=False)]
    return _entries(page)


def _order(kind_row) -> tuple:
    kind, row = kind_row
    return (row.history_date, kind, row.history_id)


def _older(kind: str, when, cursor_kind: str, history_id: int) -> Q:
    """Rows of ``kind`` after the cursor in the order (date, kind, history id), newest first."""
    if kind < cursor_kind:
        return Q(history_date__lte=when)
    if kind == cursor_kind:
        return Q(history_date__lt=when) | Q(history_date=when, history_id__lt=history_id)
    return Q(history_date__lt=when)


def _entries(page: list) -> list[Entry]:
    by_kind: dict[str, list] = {}
    for kind, row in page:
        by_kind.setdefault(kind, []).append(row)
    previous = {}
    for kind, rows in by_kind.items():
        previous[kind] = _previous_rows(kind, rows)
    users = _usernames(r.history_user_id for _k, r in page)
    return [_entry(k, r, previous[k].get(r.history_id), users) for k, r in page]


def _previous_rows(kind: str, rows: list) -> dict:
    """history_id -> the entry before it in its record's chain, in one query."""
    model = history_model(kind)
    key = model.instance_type._meta.pk.attname
    if any(row.audit_seq is None for row in rows):  # no chains (SQLite): one query a row
        return {
            r.history_id: model.objects.filter(**{key: getattr(r, key)})
            .filter(history_id__lt=r.history_id)
            .order_by("-history_id")
            .first()
            for r in rows
        }
    wanted = Q()
    for row in rows:
        if row.audit_seq and row.audit_seq > 1:
            wanted |= Q(**{key: getattr(row, key), "audit_seq": row.audit_seq - 1})
    if not wanted:
        return {}
    found = {(getattr(p, key), p.audit_seq): p for p in model.objects.filter(wanted)}
    return {
        r.history_id: found.get((getattr(r, key), (r.audit_seq or 0) - 1))
        for r in rows
        if r.audit_seq
    }
