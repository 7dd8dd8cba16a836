"""History as CSV or XLSX, streamed: rows are read a page at a time (the search's cursor) and
written as they come, so an export of millions of changes holds one page in memory."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterator

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

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
            yield [_cell(v) for v in [*line, e.history_id, e.seq]]


def _cell(value):
    if value is None:
        return ""
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
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow(HEADER)  # a BOM: Excel reads the file as UTF-8
        for row in rows(user, query):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_name()}.csv"'
    return response


def xlsx_response(user, query: Search) -> FileResponse:
    """openpyxl's write-only workbook streams its rows to a temporary file; the answer then
    streams that file."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("history")
    sheet.append(HEADER)
    for row in rows(user, query):
        sheet.append(row)
    spool = tempfile.TemporaryFile()
    book.save(spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"{_name()}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _name() -> str:
    return f"andon-history-{timezone.now():%Y%m%d-%H%M%S}"
