"""The imports' pages: upload, map (the floor's machine names too), dry run, commit."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from integrations.legacy.models import ImportJob, LegacyDowntime

pytestmark = pytest.mark.django_db

CSV = (
    "Rejestr przestojów\n"
    "Data;Zmiana;Maszyna;Od;Do;Przyczyna\n"
    "01.07.2026;I;P1-TOK-01;07:35;08:00;brak materiału\n"
    "02.07.2026;III;Kabina 2;02:10;02:40;awaria\n"
    "RAZEM;;=COUNTA(C3:C4);;;\n"
)


def test_upload_map_dry_run_and_commit_on_the_pages(
    plant, user_in, client, django_capture_on_commit_callbacks
):
    manager = user_in("manager", *plant)
    client.force_login(manager)
    page = client.get("/imports/P1/")
    assert page.status_code == 200
    sent = client.post(
        "/imports/P1/",
        {"kind": "downtime_log", "file": SimpleUploadedFile("log.csv", CSV.encode())},
    )
    job = ImportJob.objects.get()
    assert sent.status_code == 302 and sent["Location"] == f"/imports/job/{job.pk}/"
    assert job.header_row == 2 and job.mapping["machine"] == 2
    page = client.get(f"/imports/job/{job.pk}/")
    assert b"unknown machine" in page.content and b"Kabina 2" in page.content
    mapped = client.post(
        f"/imports/job/{job.pk}/mapping/",
        {
            **{f"map_{k}": "" if v is None else str(v) for k, v in job.mapping.items()},
            "header_row": "2",
            "machine_Kabina 2": "P1-LAK-02",
        },
    )
    assert mapped.status_code == 302
    page = client.get(f"/imports/job/{job.pk}/")
    assert b"2 rows map, 0 do not, 1 totals" in page.content
    with django_capture_on_commit_callbacks(execute=True):  # the task, after the answer
        done = client.post(f"/imports/job/{job.pk}/commit/")
    assert done.status_code == 302
    job.refresh_from_db()
    assert job.status == "committed" and LegacyDowntime.objects.count() == 2
    assert LegacyDowntime.objects.filter(machine__code="P1-LAK-02").exists()
    again = client.post(f"/imports/job/{job.pk}/commit/", follow=True)
    assert b"committed or on its way" in again.content


def test_the_pages_refuse_other_roles_and_sites(plant, user_in, client):
    client.force_login(user_in("operator", *plant))
    assert client.get("/imports/P1/").status_code == 403
    client.force_login(user_in("manager", plant.get(code="P2")))
    assert client.get("/imports/P1/").status_code == 404
