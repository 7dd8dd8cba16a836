"""History as CSV or XLSX, streamed: rows are read a page at a time (the search's cursor) and
written as they come, so an export of millions of changes holds one page in memory."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .history import Entry, Search, search

HEADER = [
    "when",
    "kind",
    "record",
    "type",
    "user",
    "channel",
    "reason",
    "request_id",
    "field",
    "old",
    "new",
    "history_id",
    "seq",
]
PAGE = 500


def entries(user, query: Search) -> Iterator[Entry]:
    cursor = None
    while True:
        page = search(user, query, before=cursor, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        last = page[-1]
        cursor = (last.when, last.kind, last.history_id)


def rows(user, query: Search) -> Iterator[list]:
    """One line per changed field (a change of three fields: three lines)."""
    for e in entries(user, query):
        base = [e.when.isoformat(), e.kind, e.record, e.type, e.user, e.channel, e.reason]
        tail = [e.request_id]
        for change in e.changes or [None]:
            line = [*base, *tail]
            line += ["", "", ""] if change is None else [change.field, change.old, change.new]
            yield [*line, e.history_id, e.seq]


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str):  # control characters no spreadsheet may hold
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    # A spreadsheet runs a cell that starts like a formula: never let history do that.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value):
        return value


def csv_response(user, query: Search) -> StreamingHttpResponse:
    return stream_csv(HEADER, rows(user, query), "andon-history")


def xlsx_response(user, query: Search) -> FileResponse:
    return stream_xlsx(HEADER, rows(user, query), "andon-history", sheet="history")


def stream_csv(header: list[str], lines, name: str) -> StreamingHttpResponse:
    """Any report as CSV, written as its lines come (cells made safe for a spreadsheet)."""
    writer = csv.writer(_Echo())

    def body():
        yield "\ufeff" + writer.writerow(header)  # a BOM: Excel reads the file as UTF-8
        for line in lines:
            yield writer.writerow([_cell(v) for v in line])

    response = StreamingHttpResponse(body(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_name(name)}.csv"'
    return response


def stream_xlsx(header: list[str], lines, name: str, *, sheet: str = "data") -> FileResponse:
    """Any report as XLSX: openpyxl's write-only workbook streams its rows to a temporary
    file; the answer then streams that file."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append(header)
    for line in lines:
        ws.append([_cell(v) for v in line])
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"{_name(name)}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _name(prefix: str) -> str:
    return f"{prefix}-{timezone.now():%Y%m%d-%H%M%S}"
