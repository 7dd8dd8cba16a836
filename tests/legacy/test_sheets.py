"""The cell readers of the spreadsheet import (integrations.legacy.sheets, kinds)."""

import datetime as dt

import pytest

from integrations.legacy import kinds, sheets


@pytest.mark.parametrize(
    "value,expected",
    [
        (dt.time(14, 30), dt.time(14, 30)),
        ("14.30", dt.time(14, 30)),
        ("14:30", dt.time(14, 30)),
        ("14:30 Uhr", dt.time(14, 30)),
        ("7.05", dt.time(7, 5)),
        (0.5, dt.time(12, 0)),
        ("25:00", None),
        ("halb drei", None),
        (None, None),
    ],
)
def test_times(value, expected):
    assert sheets.parse_time(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        (dt.datetime(2026, 8, 12), dt.date(2026, 8, 12)),  # noqa: DTZ001 - a cell is naive
        ("12.08.2026", dt.date(2026, 8, 12)),
        ("12.08", dt.date(2026, 8, 12)),
        ("12.08.26", dt.date(2026, 8, 12)),
        ("2026-08-12", dt.date(2026, 8, 12)),
        ("31.06.2026", None),
        ("gestern", None),
    ],
)
def test_dates(value, expected):
    assert sheets.parse_date(value, year=2026) == expected


def test_headers_are_found_under_titles_in_three_languages():
    rows = [
        ("REJESTR PRZESTOJÓW MASZYN", None, None, None, None, None, None),
        ("Prowadzi: kierownicy zmian", None, None, "Czas postoju", None, None, None),
        ("Data", "Zmiana", "Maszyna", "Od", "Do", "Przyczyna", "Uwagi"),
    ]
    at = sheets.find_header(rows, kinds.DOWNTIME)
    assert at == 2
    assert sheets.propose(rows[at], kinds.DOWNTIME) == {
        "date": 0,
        "shift": 1,
        "machine": 2,
        "start": 3,
        "end": 4,
        "reason": 5,
        "note": 6,
    }
    german = ("Datum", "Schicht", "Maschine", "Von", "Bis", "Ursache", "Bemerkung")
    assert sheets.propose(german, kinds.DOWNTIME)["end"] == 4
    tracker = (
        "Date",
        "Reported by",
        "Channel",
        "Work order",
        "Type",
        "Decision",
        "Decided by",
        "ERP updated",
    )
    assert None not in list(sheets.propose(tracker, kinds.EXCEPTIONS).values())[:8]


@pytest.mark.parametrize(
    "value,expected",
    [
        ("tel.", "phone"),
        ("WA", "chat"),
        ("whatsapp", "chat"),
        ("e-mail", "email"),
        ("osobiscie", "in_person"),
        ("persönlich", "in_person"),
        ("mündlich", "in_person"),
        ("Brieftaube", "other"),
        ("", ""),
    ],
)
def test_channels(value, expected):
    assert kinds.channel_of(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        (dt.datetime(2026, 7, 3, 12, 57), (dt.datetime(2026, 7, 3, 12, 57), "yes")),  # noqa: DTZ001
        ("tak", (None, "yes")),
        ("ja", (None, "yes")),
        ("nie", (None, "no")),
        ("n/d", (None, "no")),
        ("?", (None, "unknown")),
        ("31.06.2026", (None, "unknown")),
        (None, (None, "")),
    ],
)
def test_erp_updated(value, expected):
    assert kinds._erp_updated(value) == expected


def test_uploaded_workbooks_are_parsed_with_defusedxml():
    """openpyxl reads an upload's XML with defusedxml when it is installed: an entity
    expansion bomb in a sheet is refused, not expanded."""
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML
