"""The site calendar moved from exceptions to mes: migrating an existing database keeps every
calendar, closed day and history row, and the permissions with their grants."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("mes", "0007_projection"), ("exceptions", "0007_standard_form_schemas")]


@pytest.mark.django_db(transaction=True)
def test_calendars_move_to_mes_with_their_rows_history_and_grants():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    site = old.get_model("mes", "Site").objects.create(code="MIG", name="Migrated")
    calendar = old.get_model("exceptions", "WorkingCalendar").objects.create(
        site_id=site.pk, shifts={"0": [["06:00", "14:00"]]}
    )
    old.get_model("exceptions", "NonWorkingDay").objects.create(
        calendar_id=calendar.pk, date=datetime.date(2026, 12, 24), reason="Wigilia"
    )
    old.get_model("exceptions", "HistoricalWorkingCalendar").objects.create(
        id=calendar.pk,
        site_id=site.pk,
        shifts=calendar.shifts,
        history_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        history_type="+",
        history_change_reason="created",
    )
    # as in a database that never ran the new code: the calendars' types are exceptions'
    content_types = old.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label="mes", model__endswith="workingcalendar").delete()
    content_types.objects.filter(app_label="mes", model__endswith="nonworkingday").delete()
    calendar_type, _ = content_types.objects.get_or_create(
        app_label="exceptions", model="workingcalendar"
    )
    permission, _ = old.get_model("auth", "Permission").objects.get_or_create(
        content_type=calendar_type, codename="change_workingcalendar", defaults={"name": "Can"}
    )
    group = old.get_model("auth", "Group").objects.create(name="calendar keepers")
    group.permissions.add(permission)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from django.contrib.auth.models import Group

    from mes.models import WorkingCalendar

    moved = WorkingCalendar.objects.get(site__code="MIG")
    assert moved.shifts == {"0": [["06:00", "14:00"]]}
    assert [(d.date, d.reason) for d in moved.closed_days.all()] == [
        (datetime.date(2026, 12, 24), "Wigilia")
    ]
    assert moved.history.get().history_change_reason == "created"
    keepers = Group.objects.get(name="calendar keepers")
    assert [(p.content_type.app_label, p.codename) for p in keepers.permissions.all()] == [
        ("mes", "change_workingcalendar")
    ]
