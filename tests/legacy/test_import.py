"""The plant's own spreadsheets, as they are (plant-q3's downtime_log.xlsx and
exception_log.xlsx): uploaded with a mapping step, dry-run, committed all or nothing. The
expected rows are worked out here from the file and machines.json, not by the importer."""

import datetime as dt
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from integrations.legacy.models import ImportJob, LegacyDowntime, LegacyException
from mes.models import Item, Machine, OutboxEvent, WorkOrder

pytestmark = pytest.mark.django_db


def _upload(client, path, site, kind):
    with open(path, "rb") as handle:
        body = {"site": site, "kind": kind, "file": SimpleUploadedFile(path.name, handle.read())}
    return client.post("/api/v1/imports/", body, format="multipart")


def _sheet_rows(path, sheet):
    """(row number, cells) of the data rows: below the header row, blank rows left out,
    up to the totals row."""
    ws = load_workbook(path, read_only=True)[sheet]
    found = []
    for n, row in enumerate(ws.iter_rows(values_only=True), 1):
        if n <= 3 or all(v is None for v in row):
            continue
        if isinstance(row[0], str) and row[0].upper() in ("RAZEM", "SUMME"):
            break
        found.append((n, row))
    return found


def _names_known(plant_q3, site):
    """What a machine may be called and still be known without help: its code in any case,
    its code without the site ("FRE-01", "FRE 1", "FRE01"), or a model name only it has."""
    machines = [
        m for m in json.loads((plant_q3 / "machines.json").read_text()) if m["site"] == site
    ]
    known = {}
    for m in machines:
        short = m["code"].split("-", 1)[1]
        for name in (m["code"], short, short.replace("-0", " "), short.replace("-", "")):
            known[name.lower()] = m["code"]
    names = {}
    for m in machines:
        names.setdefault(m["name"].lower(), []).append(m["code"])
    known.update({n: codes[0] for n, codes in names.items() if len(codes) == 1})
    return known


@pytest.fixture
def p1_manager(plant, user_in):
    return user_in("manager", *plant)


def test_the_downtime_log_comes_in_with_a_mapping_step(plant, plant_q3, p1_manager, client_for):
    path = plant_q3 / "downtime_log.xlsx"
    client = client_for(p1_manager)
    answer = _upload(client, path, "P1", "downtime_log")
    assert answer.status_code == 201, answer.content
    job = answer.json()
    assert (job["sheet"], job["header_row"]) == ("P1", 3)
    assert job["mapping"] == {
        "date": 0,
        "shift": 1,
        "machine": 2,
        "start": 3,
        "end": 4,
        "reason": 5,
        "note": 6,
    }
    rows = _sheet_rows(path, "P1")
    known = _names_known(plant_q3, "P1")
    unknown = {n: r[2] for n, r in rows if " ".join(str(r[2]).split()).lower() not in known}
    assert unknown, "the sheet names some machines by nickname"

    preview = client.post(f"/api/v1/imports/{job['id']}/preview/").json()
    bad = {e["row"]: e["reason"] for e in preview["job"]["errors"]}
    assert set(bad) == set(unknown)
    for n, name in unknown.items():
        assert repr(" ".join(str(name).split())) in bad[n]
    assert preview["job"]["good_rows"] == len(rows) - len(unknown)
    assert preview["job"]["skipped_rows"] == 1  # the totals row
    assert set(preview["unknown_machines"]) <= set(unknown.values()) | {
        " ".join(str(v).split()) for v in unknown.values()
    }

    # all or nothing: with bad rows nothing comes in, and each one is named
    refused = client.post(f"/api/v1/imports/{job['id']}/commit/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "bad_rows"
    assert len(refused.json()["fields"]["rows"]) == len(unknown)
    assert not LegacyDowntime.objects.exists()

    # the manager says what the most used nickname is; those rows map now
    nickname = max(set(unknown.values()), key=list(unknown.values()).count)
    target = Machine.objects.filter(site__code="P1").order_by("code").first().code
    etag = client.get(f"/api/v1/imports/{job['id']}/")["ETag"]
    changed = client.patch(
        f"/api/v1/imports/{job['id']}/",
        {"machine_names": {nickname: target}},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert changed.status_code == 200, changed.content
    stale = client.patch(
        f"/api/v1/imports/{job['id']}/", {"header_row": 3}, format="json", HTTP_IF_MATCH=etag
    )
    assert stale.status_code == 412
    still_bad = {n for n, v in unknown.items() if v != nickname}
    preview = client.post(f"/api/v1/imports/{job['id']}/preview/").json()
    assert {e["row"] for e in preview["job"]["errors"]} == still_bad

    done = client.post(
        f"/api/v1/imports/{job['id']}/commit/", {"skip_invalid": True}, format="json"
    )
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "committed"
    came = {d.row: d for d in LegacyDowntime.objects.select_related("machine")}
    assert set(came) == {n for n, _r in rows} - still_bad
    # row 5: "01.07.2026" (a text date), P1-PRA-01, 11:20-12:20, in Gliwice (UTC+2 in July)
    assert came[5].machine.code == "P1-PRA-01"
    assert came[5].started_at == dt.datetime(2026, 7, 1, 9, 20, tzinfo=dt.UTC)
    assert came[5].ended_at == dt.datetime(2026, 7, 1, 10, 20, tzinfo=dt.UTC)
    # row 4: no end written down
    assert came[4].ended_at is None
    # row 9: dated 02.07, night shift "III", 02:06: the night that began on the 2nd
    assert came[9].started_at == dt.datetime(2026, 7, 3, 0, 6, tzinfo=dt.UTC)
    assert all(d.machine.site.code == "P1" for d in came.values())
    history = LegacyDowntime.history.filter(id=came[5].pk).get()
    assert history.channel == "import" and history.history_user == p1_manager
    event = OutboxEvent.objects.get(type="legacy.imported")
    assert event.payload["rows"] == len(came) and event.payload["bad_rows"] == len(still_bad)
    # the name is kept for the next import
    from integrations.legacy.sheets import fold

    assert ImportJob.objects.get().machine_names == {fold(nickname): target}
    again = _upload(client, path, "P1", "downtime_log").json()
    twice = client.post(f"/api/v1/imports/{again['id']}/commit/", {"skip_invalid": True})
    assert twice.status_code == 409 and twice.json()["code"] == "already_imported"


def test_the_german_sheet_for_p2(plant, plant_q3, p1_manager, client_for):
    path = plant_q3 / "downtime_log.xlsx"
    client = client_for(p1_manager)
    job = _upload(client, path, "P2", "downtime_log").json()
    assert job["sheet"] == "P2" and job["mapping"]["start"] == 3
    rows = _sheet_rows(path, "P2")
    known = _names_known(plant_q3, "P2")
    unknown = {n for n, r in rows if " ".join(str(r[2]).split()).lower() not in known}
    done = client.post(f"/api/v1/imports/{job['id']}/commit/", {"skip_invalid": True}).json()
    assert done["good_rows"] == len(rows) - len(unknown)
    uhr = [(n, r) for n, r in rows if isinstance(r[3], str) and "Uhr" in r[3] and n not in unknown]
    if uhr:
        n, r = uhr[0]
        got = LegacyDowntime.objects.get(row=n)
        assert (
            got.started_at.astimezone(dt.timezone(dt.timedelta(hours=2))).strftime("%H:%M")
            == r[3].split()[0]
        )


def _orders(plant_q3, plant):
    """The quarter's work orders, as rows (what the tracker names)."""
    sites = {s.code: s for s in plant}
    items = {}
    for item in json.loads((plant_q3 / "items.json").read_text()):
        items[item["code"]] = Item(code=item["code"], name=item["name"][:200], kind="finished")
    Item.objects.bulk_create(items.values())
    items = {i.code: i for i in Item.objects.all()}
    orders = json.loads((plant_q3 / "work_orders.json").read_text())["orders"]
    WorkOrder.objects.bulk_create(
        [
            WorkOrder(
                site=sites[o["site"]],
                erp_number=o["erp_number"],
                item=items[o["item"]],
                planned_qty=1,
                due_date=dt.date(2026, 9, 30),
            )
            for o in orders
            if o.get("site") in sites and o.get("item") in items and o.get("erp_number")
        ],
        ignore_conflicts=True,
    )
    return set(WorkOrder.objects.values_list("erp_number", flat=True))


def test_the_exception_tracker(plant, plant_q3, p1_manager, client_for):
    numbers = _orders(plant_q3, plant)
    path = plant_q3 / "exception_log.xlsx"
    client = client_for(p1_manager)
    job = _upload(client, path, "P1", "exception_log").json()
    assert job["header_row"] == 1
    ws = load_workbook(path, read_only=True)["Tracker"]
    rows = [(n, r) for n, r in enumerate(ws.iter_rows(values_only=True), 1) if n > 1 and any(r)]
    upper = {n.upper(): n for n in numbers}

    def named(cell):
        """The orders a cell names: its parts ("A / B", "A, B"), each its number in any case
        with no spaces, or a bare number that ends exactly one order's number."""
        found = []
        parts = re.split(r"\s+/\s+|[,;&+]|\s+(?:i|und|and|oraz)\s+", str(cell or ""), flags=re.I)
        for part in parts:
            token = re.sub(r"\s+", "", part).upper()
            if token in upper:
                found.append(upper[token])
            elif token.isdigit() and len(token) >= 3:
                ends = [n for n in numbers if n.endswith(("/" + token, "-" + token))]
                found += ends if len(ends) == 1 else []
        return found

    without = {n for n, r in rows if not named(r[3])}
    preview = client.post(f"/api/v1/imports/{job['id']}/preview/").json()
    errors = {e["row"]: e["reason"] for e in preview["job"]["errors"]}
    assert set(errors) == without, {n: errors[n] for n in set(errors) - without}
    assert all("the row names no site" in e["reason"] for e in preview["job"]["errors"])
    assert 44 not in without  # "004638": the one order that ends so (FA26-004638)
    done = client.post(f"/api/v1/imports/{job['id']}/commit/", {"skip_invalid": True}).json()
    assert done["done_rows"] == len(rows) - len(without)
    got = {e.row: e for e in LegacyException.objects.select_related("work_order", "site")}
    for n, r in rows:
        if n in without:
            continue
        assert got[n].work_order.erp_number == named(r[3])[0]
        assert got[n].site == got[n].work_order.site
        if isinstance(r[7], dt.datetime):
            assert got[n].erp_updated == "yes" and got[n].erp_updated_at is not None
    channels = {e.reported_via for e in got.values()}
    assert {"phone", "chat", "in_person"} <= channels


def test_who_may_import_and_bad_files(plant, plant_q3, user_in, client_for, p1_manager):
    path = plant_q3 / "downtime_log.xlsx"
    operator = client_for(user_in("operator", *plant))
    assert _upload(operator, path, "P1", "downtime_log").status_code == 403
    p2_manager = client_for(user_in("manager", plant.get(code="P2")))
    assert _upload(p2_manager, path, "P1", "downtime_log").status_code == 404
    client = client_for(p1_manager)
    junk = client.post(
        "/api/v1/imports/",
        {
            "site": "P1",
            "kind": "downtime_log",
            "file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04 junk"),
        },
        format="multipart",
    )
    assert junk.status_code == 400 and junk.json()["code"] == "unreadable_file"
    job = _upload(client, path, "P1", "downtime_log").json()
    other = p2_manager.get(f"/api/v1/imports/{job['id']}/")
    assert other.status_code == 404
    bad_map = client.patch(
        f"/api/v1/imports/{job['id']}/", {"mapping": {"machine": 99}}, format="json"
    )
    assert bad_map.status_code == 400 and bad_map.json()["code"] == "invalid_mapping"
    missing = client.patch(
        f"/api/v1/imports/{job['id']}/", {"mapping": {"machine": None}}, format="json"
    )
    assert missing.status_code == 400 and "machine" in missing.json()["fields"]
    assert ImportJob.history.filter(id=job["id"]).count() == 1


def test_reason_codes_and_users_from_csv(plant, user_in, client_for, p1_manager):
    client = client_for(p1_manager)
    csv_reasons = (
        "Kod;Nazwa;Grupa;Planowany\n"
        "MECH;Awaria mechaniczna;;nie\nMECH-BRG;Łożysko;MECH;nie\nBRK;Przerwa;;tak\n"
    )
    job = client.post(
        "/api/v1/imports/",
        {
            "site": "P1",
            "kind": "reason_codes",
            "file": SimpleUploadedFile("kody.csv", csv_reasons.encode()),
        },
        format="multipart",
    ).json()
    done = client.post(f"/api/v1/imports/{job['id']}/commit/", {}).json()
    assert done["done_rows"] == 3
    from mes.models import DowntimeReason

    assert DowntimeReason.objects.get(code="MECH-BRG").parent.code == "MECH"
    # the reason tree is every site's: a manager of one site may not change it
    one_site = client_for(user_in("manager", plant.get(code="P1")))
    job = one_site.post(
        "/api/v1/imports/",
        {
            "site": "P1",
            "kind": "reason_codes",
            "file": SimpleUploadedFile("k.csv", csv_reasons.encode() + b"X;Inne;;\n"),
        },
        format="multipart",
    ).json()
    refused = one_site.post(f"/api/v1/imports/{job['id']}/commit/", {})
    assert refused.status_code == 403 and refused.json()["code"] == "shared_configuration"
    assert DowntimeReason.objects.get(code="BRK").planned
    # a role the manager may not grant: the whole file is refused, nobody is created
    people = "login,imie,nazwisko,rola\nnowak,Jan,Nowak,operator\nboss,Ewa,Szef,manager\n"
    job = client.post(
        "/api/v1/imports/",
        {"site": "P1", "kind": "users", "file": SimpleUploadedFile("ludzie.csv", people.encode())},
        format="multipart",
    ).json()
    refused = client.post(f"/api/v1/imports/{job['id']}/commit/", {})
    assert refused.status_code == 400 and refused.json()["code"] == "bad_rows"
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username__in=["nowak", "boss"]).exists()


def test_a_workbook_that_unpacks_too_far_is_refused(
    plant, plant_q3, p1_manager, client_for, monkeypatch
):
    from integrations.legacy import services

    monkeypatch.setattr(services, "MAX_UNPACKED", 10_000)
    answer = _upload(client_for(p1_manager), plant_q3 / "downtime_log.xlsx", "P1", "downtime_log")
    assert answer.status_code == 400 and answer.json()["code"] == "file_too_large"
    assert not ImportJob.objects.exists()
