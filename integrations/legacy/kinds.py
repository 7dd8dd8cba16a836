"""What each kind of legacy file holds: the fields an import fills (with the headers they go
by in Polish, German and English) and how one row becomes clean values or a reason why not.

A row parser takes the row's cells by target (``cells["machine"]``), the :class:`Context`
of the import (its site, resolvers, the date carried from the row above) and returns a dict
of values, :data:`SKIP` (a totals line), or raises :class:`BadRow` with the reason.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from . import sheets
from .sheets import Target, fold


class BadRow(ValueError):
    pass


SKIP = object()
TOTALS = {"razem", "summe", "suma", "total", "totals", "gesamt", "sum", "ogolem"}
NIGHT_SHIFTS = {"iii", "3", "nocka", "nocna", "iii zm", "n", "nacht", "nachtschicht", "night"}
NIGHT_ENDS = dt.time(6, 0)
CHANNELS = {
    "phone": {"tel", "tel.", "telefon", "telefonisch", "phone", "anruf", "call"},
    "chat": {"wa", "whatsapp", "sms", "teams", "chat", "messenger"},
    "email": {"e mail", "email", "mail"},
    "in_person": {"osobiscie", "persoenlich", "personlich", "mundlich", "muendlich", "in person"},
}
YES = {"tak", "ja", "yes", "y", "x", "ok", "t", "1"}
NO = {"nie", "nein", "no", "n", "n d", "nd", "0", "-"}


def _t(name: str, required: bool, *synonyms: str) -> Target:
    return Target(name, required, tuple(fold(s) for s in (name, *synonyms)))


@dataclass
class Context:
    """What a row is read against: the job's site (its time zone), the machines and work
    orders it may name, and the date of the row above (a blank date: the same day)."""

    site: object | None
    machine_of: Callable[[str], object] | None = None
    order_of: Callable[[str], object | None] | None = None
    site_of_code: Callable[[str], object | None] | None = None
    last_date: dt.date | None = None
    year: int | None = None
    warnings: list[str] = field(default_factory=list)

    def aware(self, day: dt.date, at: dt.time, site=None) -> dt.datetime:
        zone = zoneinfo.ZoneInfo((site or self.site).timezone)
        return dt.datetime.combine(day, at).replace(tzinfo=zone)


def _totals(cells: dict) -> bool:
    values = [v for v in cells.values() if v is not None]
    return any(sheets.is_formula(v) for v in values) or any(
        fold(v) in TOTALS for v in values if isinstance(v, str)
    )


# --- downtime log ------------------------------------------------------------------------

DOWNTIME = [
    _t("date", False, "data", "datum", "dzien", "tag", "day"),
    _t("shift", False, "zmiana", "schicht", "zm"),
    _t("machine", True, "maszyna", "maschine", "anlage", "stanowisko", "equipment"),
    _t("start", True, "od", "von", "from", "poczatek", "beginn", "start time"),
    _t("end", False, "do", "bis", "to", "koniec", "ende", "end time"),
    _t("reason", False, "przyczyna", "ursache", "grund", "powod", "cause"),
    _t("note", False, "uwagi", "bemerkung", "bemerkungen", "remarks", "notes", "kommentar"),
]


def downtime_row(cells: dict, ctx: Context):
    if _totals(cells):
        return SKIP
    raw_date = cells.get("date")
    year = ctx.last_date.year if ctx.last_date else ctx.year or timezone.now().year
    day = sheets.parse_date(raw_date, year=year)
    if day is None:
        if sheets.text(raw_date):
            raise BadRow(f"date {sheets.text(raw_date, 40)!r} is not a date")
        if ctx.last_date is None:
            raise BadRow("no date, and no row above with one")
        day = ctx.last_date
    ctx.last_date = day
    start = sheets.parse_time(cells.get("start"))
    if start is None:
        raise BadRow(f"start {sheets.text(cells.get('start'), 40)!r} is not a time")
    end = None
    if sheets.text(cells.get("end")):
        end = sheets.parse_time(cells.get("end"))
        if end is None:
            raise BadRow(f"end {sheets.text(cells.get('end'), 40)!r} is not a time")
    shift = sheets.text(cells.get("shift"), 20)
    if fold(shift) in NIGHT_SHIFTS and start < NIGHT_ENDS:
        day += dt.timedelta(days=1)  # the night shift is dated by the day it began
    machine_text = sheets.text(cells.get("machine"), 100)
    if not machine_text:
        raise BadRow("no machine")
    machine = ctx.machine_of(machine_text)  # raises BadRow
    started = ctx.aware(day, start)
    ended = None
    if end is not None:
        ended = ctx.aware(day + dt.timedelta(days=1) if end <= start else day, end)
    return {
        "machine": machine,
        "machine_text": machine_text,
        "started_at": started,
        "ended_at": ended,
        "shift": shift,
        "reason_text": sheets.text(cells.get("reason"), 200),
        "note": sheets.text(cells.get("note"), 500),
    }


# --- exception tracker -------------------------------------------------------------------

EXCEPTIONS = [
    _t("date", True, "data", "datum", "when", "kiedy"),
    _t("reported_by", False, "reported by", "zglaszajacy", "zglosil", "gemeldet von", "melder"),
    _t("channel", False, "kanal", "kanal zgloszenia", "via", "wie"),
    _t("work_order", False, "work order", "zlecenie", "auftrag", "fa", "zp", "order"),
    _t("type", False, "typ", "art", "problem", "rodzaj"),
    _t("decision", False, "decyzja", "entscheidung", "massnahme"),
    _t("decided_by", False, "decided by", "decydowal", "zdecydowal", "entschieden von"),
    _t("erp_updated", False, "erp updated", "erp", "w erp", "erp aktualisiert"),
    _t("site", False, "zaklad", "werk", "plant"),
]
# Two orders in one cell: "ZP/2026/07/0090 / 0011", "FA26-004506, FA26-004507", "... i ...".
MAX_ORDERS_IN_CELL = 3  # more is not a work order, and each costs a lookup
_ORDER_PARTS = re.compile(r"\s+/\s+|[,;&+]|\s+(?:i|und|and|oraz)\s+", re.IGNORECASE)


def channel_of(value: str) -> str:
    name = fold(value)
    for channel, names in CHANNELS.items():
        if name in names or name.rstrip(".") in names:
            return channel
    return "other" if name else ""


def exception_row(cells: dict, ctx: Context):
    if _totals(cells):
        return SKIP
    year = ctx.last_date.year if ctx.last_date else ctx.year or timezone.now().year
    raised = sheets.parse_moment(cells.get("date"), year=year)
    if raised is None:
        raise BadRow(f"date {sheets.text(cells.get('date'), 40)!r} is not a date")
    ctx.last_date = raised.date()
    order_text = sheets.text(cells.get("work_order"), 100)
    order, also = None, []
    for part in _ORDER_PARTS.split(order_text)[:MAX_ORDERS_IN_CELL]:
        token = re.sub(r"\s+", "", part).upper()
        found = ctx.order_of(token) if token else None
        if found is None:
            continue
        if order is None:
            order = found
        elif found != order:
            also.append(found.erp_number)
    site = order.site if order is not None else None
    if site is None and sheets.text(cells.get("site")):
        site = ctx.site_of_code(sheets.text(cells.get("site"), 20))
    if site is None:
        reason = f"work order {order_text!r} not found" if order_text else "no work order"
        raise BadRow(f"{reason}, and the row names no site")
    erp_at, erp_state = _erp_updated(cells.get("erp_updated"))
    note = f"also: {', '.join(also)}" if also else ""
    if order_text and order is None:
        note = f"work order {order_text!r} not found"
    return {
        "site": site,
        "raised_at": ctx.aware(raised.date(), raised.time(), site),
        "reported_by": sheets.text(cells.get("reported_by"), 100),
        "reported_via_text": sheets.text(cells.get("channel"), 40),
        "reported_via": channel_of(sheets.text(cells.get("channel"), 40)),
        "work_order": order,
        "work_order_text": order_text,
        "type_text": sheets.text(cells.get("type"), 200),
        "decision": sheets.text(cells.get("decision"), 1000),
        "decided_by": sheets.text(cells.get("decided_by"), 100),
        "erp_updated": erp_state,
        "erp_updated_at": None if erp_at is None else ctx.aware(erp_at.date(), erp_at.time(), site),
        "note": note,
    }


def _erp_updated(value) -> tuple[dt.datetime | None, str]:
    """(when, "yes"/"no"/"unknown"/"") from a date-time, yes/no words, "?" or a typo."""
    if value is None or not sheets.text(value):
        return None, ""
    moment = sheets.parse_moment(value)
    if moment is not None:
        return moment, "yes"
    word = fold(value)
    if word in YES:
        return None, "yes"
    if word in NO:
        return None, "no"
    return None, "unknown"  # "?", a mistyped date


# --- reason codes and users ---------------------------------------------------------------

REASONS = [
    _t("code", True, "kod", "schlussel", "schluessel", "nr"),
    _t("name", True, "nazwa", "bezeichnung", "opis", "beschreibung", "description", "reason"),
    _t("parent", False, "nadrzedny", "grupa", "gruppe", "group", "parent code"),
    _t("category", False, "kategoria", "kategorie"),
    _t("planned", False, "planowany", "geplant", "planned stop"),
]
USERS = [
    _t("username", True, "login", "user", "benutzer", "uzytkownik", "user name"),
    _t("first_name", False, "first name", "imie", "vorname"),
    _t("last_name", False, "last name", "nazwisko", "nachname"),
    _t("email", False, "e mail", "mail"),
    _t("role", True, "rola", "rolle", "funkcja"),
    _t("sites", False, "site", "zaklad", "werk", "plant", "sites"),
]


def reason_row(cells: dict, ctx: Context):
    if _totals(cells):
        return SKIP
    code = sheets.text(cells.get("code"), 40)
    name = sheets.text(cells.get("name"), 200)
    if not code or not re.fullmatch(r"[A-Za-z0-9_.-]+", code):
        raise BadRow(f"code {code!r}: letters, digits, . _ - only" if code else "no code")
    if not name:
        raise BadRow("no name")
    category = fold(cells.get("category")) or ""
    return {
        "code": code,
        "name": name,
        "parent": sheets.text(cells.get("parent"), 40),
        "category": category,
        "planned": fold(cells.get("planned")) in YES,
    }


def user_row(cells: dict, ctx: Context):
    if _totals(cells):
        return SKIP
    username = sheets.text(cells.get("username"), 150)
    if not re.fullmatch(r"[\w.@+-]+", username or "-") or not username:
        raise BadRow(f"user name {username!r}: letters, digits and @.+-_ only")
    role = fold(cells.get("role")).replace(" ", "_")
    sites = [s for s in re.split(r"[,;\s]+", sheets.text(cells.get("sites"), 200)) if s]
    return {
        "username": username,
        "first_name": sheets.text(cells.get("first_name"), 150),
        "last_name": sheets.text(cells.get("last_name"), 150),
        "email": sheets.text(cells.get("email"), 254),
        "role": role,
        "sites": sites,
    }


@dataclass(frozen=True)
class Kind:
    targets: list[Target]
    parse: Callable


KINDS = {
    "downtime_log": Kind(DOWNTIME, downtime_row),
    "exception_log": Kind(EXCEPTIONS, exception_row),
    "reason_codes": Kind(REASONS, reason_row),
    "users": Kind(USERS, user_row),
}
