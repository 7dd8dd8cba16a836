"""Reading the plant's own spreadsheets as they are: XLSX (openpyxl, read-only: a sheet is
streamed, never held whole) or CSV; titles above the header, merged cells, totals rows,
blank lines, text dates and times, Polish, German and English headers.

:func:`read` gives the rows of one sheet; :func:`find_header` the row that names the
columns, scored against the kind's synonyms; :func:`propose` a mapping of each target field
to a column. The parsers of cell values (:func:`parse_date`, :func:`parse_time`, ...) say
what they could not read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

HEADER_SCAN = 15  # the header is within the first rows (titles and notes above it)


@dataclass(frozen=True)
class Target:
    """A field an import fills: its name, whether a row needs it, and the headers it goes by."""

    name: str
    required: bool
    synonyms: tuple[str, ...]


def fold(text) -> str:
    """Lower case, no accents, single spaces: how headers and names are compared."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


class Unreadable(ValueError):
    """The file is not a spreadsheet this can read."""


def sheet_names(data: bytes, filename: str) -> list[str]:
    if _is_csv(filename):
        return ["csv"]
    book = _book(data)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def read(data: bytes, filename: str, sheet: str | None = None) -> Iterator[tuple]:
    """The rows of ``sheet`` (the first when None) as tuples of cell values."""
    if _is_csv(filename):
        text = data.decode("utf-8-sig", errors="replace")
        yield from (tuple(r) for r in csv.reader(io.StringIO(text), delimiter=_delimiter(text)))
        return
    book = _book(data)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise Unreadable(f"no sheet {sheet!r}")
        ws = book[sheet] if sheet else book.worksheets[0]
        yield from ws.iter_rows(values_only=True)
    finally:
        book.close()


def _delimiter(text: str) -> str:
    """The separator of a CSV: the one of , ; tab that most lines of its start hold most."""
    lines = text[:8192].splitlines()[:20] or [""]
    return max(",;\t", key=lambda d: (sum(line.count(d) > 0 for line in lines), text.count(d)))


def _is_csv(filename: str) -> bool:
    return filename.lower().endswith((".csv", ".txt"))


def _book(data: bytes):
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Unreadable(str(exc)[:200]) from exc


def find_header(rows: list[tuple], targets: list[Target]) -> int:
    """The index of the row that names the most targets (0 when none does)."""
    best, best_score = 0, 0
    for n, row in enumerate(rows[:HEADER_SCAN]):
        score = sum(1 for cell in row if _target_of(cell, targets) is not None)
        if score > best_score:
            best, best_score = n, score
    return best


def _target_of(cell, targets: list[Target]) -> str | None:
    name = fold(cell)
    if not name:
        return None
    for target in targets:
        if name in target.synonyms:
            return target.name
    return None


def propose(header: tuple, targets: list[Target]) -> dict[str, int | None]:
    """Target field -> the index of the column whose header is one of its names."""
    mapping: dict[str, int | None] = {t.name: None for t in targets}
    for n, cell in enumerate(header):
        name = _target_of(cell, targets)
        if name is not None and mapping[name] is None:
            mapping[name] = n
    return mapping


# --- cell values -------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2,4}))?\.?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"^(\d{1,2})[:.h](\d{2})(?::(\d{2}))?\s*(uhr|h)?$")


def parse_date(value, *, year: int | None = None) -> dt.date | None:
    """A date cell, ``12.08.2026``, ``12.08`` (the year given), ``2026-08-12``; else None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    iso = _ISO_DATE.match(text)
    try:
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        found = _DATE.match(text)
        if not found:
            return None
        day, month, y = int(found[1]), int(found[2]), found[3]
        if y is None:
            if year is None:
                return None
            return dt.date(year, month, day)
        y = int(y)
        return dt.date(2000 + y if y < 100 else y, month, day)
    except ValueError:
        return None


def parse_time(value) -> dt.time | None:
    """A time cell, ``14.30``, ``14:30``, ``14:30 Uhr``; else None."""
    if isinstance(value, dt.datetime):
        return value.time().replace(microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(microsecond=0)
    if isinstance(value, int | float) and 0 <= value < 1:  # Excel's fraction of a day
        seconds = round(value * 86400)
        return dt.time(seconds // 3600 % 24, seconds // 60 % 60)
    found = _TIME.match(str(value or "").strip().lower())
    if not found:
        return None
    hour, minute = int(found[1]), int(found[2])
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute, int(found[3] or 0))


def parse_moment(value, *, year: int | None = None) -> dt.datetime | None:
    """A date-time cell, or text such as ``03.07.2026 12:57`` (``03.07``: in ``year``); a
    date alone is midnight."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    text = str(value or "").strip()
    if not text:
        return None
    date_part, _sep, time_part = text.partition(" ")
    day = parse_date(date_part, year=year)
    if day is None:
        return None
    if not time_part:
        return dt.datetime.combine(day, dt.time())
    at = parse_time(time_part)
    return None if at is None else dt.datetime.combine(day, at)


def text(value, limit: int = 500) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())[:limit]


def is_blank(row: tuple) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def is_formula(value) -> bool:
    return isinstance(value, str) and value.startswith("=")
