"""The sites' working calendars join the production core (from exceptions 0008, which renamed
the tables; nothing is copied). Permissions follow their content types."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

MODELS = (
    "workingcalendar",
    "nonworkingday",
    "historicalworkingcalendar",
    "historicalnonworkingday",
)


def move_content_types(apps, schema_editor):
    """Existing databases: the calendars' content types (and so their permissions) move to
    mes, so role and user grants carry over."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label="mes", model=model).exists():
            ContentType.objects.filter(app_label="exceptions", model=model).update(app_label="mes")


def back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="mes", model__in=MODELS).update(app_label="exceptions")


class Migration(migrations.Migration):
    dependencies = [
        ("mes", "0007_projection"),
        ("exceptions", "0008_calendars_to_mes"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="HistoricalWorkingCalendar",
                    fields=[
                        (
                            "id",
                            models.BigIntegerField(
                                auto_created=True, blank=True, db_index=True, verbose_name="ID"
                            ),
                        ),
                        ("request_id", models.CharField(blank=True, default="", max_length=64)),
                        ("shifts", models.JSONField(default=dict, verbose_name="weekly shifts")),
                        ("history_id", models.AutoField(primary_key=True, serialize=False)),
                        ("history_date", models.DateTimeField(db_index=True)),
                        ("history_change_reason", models.CharField(max_length=100, null=True)),
                        (
                            "history_type",
                            models.CharField(
                                choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                                max_length=1,
                            ),
                        ),
                        (
                            "history_user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "site",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="mes.site",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "historical working calendar",
                        "verbose_name_plural": "historical working calendars",
                        "ordering": ("-history_date", "-history_id"),
                        "get_latest_by": ("history_date", "history_id"),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name="WorkingCalendar",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("shifts", models.JSONField(default=dict, verbose_name="weekly shifts")),
                        (
                            "site",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="calendar",
                                to="mes.site",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "working calendar",
                        "verbose_name_plural": "working calendars",
                    },
                ),
                migrations.CreateModel(
                    name="HistoricalNonWorkingDay",
                    fields=[
                        (
                            "id",
                            models.BigIntegerField(
                                auto_created=True, blank=True, db_index=True, verbose_name="ID"
                            ),
                        ),
                        ("request_id", models.CharField(blank=True, default="", max_length=64)),
                        ("date", models.DateField(verbose_name="date")),
                        (
                            "reason",
                            models.CharField(blank=True, max_length=200, verbose_name="reason"),
                        ),
                        ("history_id", models.AutoField(primary_key=True, serialize=False)),
                        ("history_date", models.DateTimeField(db_index=True)),
                        ("history_change_reason", models.CharField(max_length=100, null=True)),
                        (
                            "history_type",
                            models.CharField(
                                choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")],
                                max_length=1,
                            ),
                        ),
                        (
                            "history_user",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "calendar",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="mes.workingcalendar",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "historical non-working day",
                        "verbose_name_plural": "historical non-working days",
                        "ordering": ("-history_date", "-history_id"),
                        "get_latest_by": ("history_date", "history_id"),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name="NonWorkingDay",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("date", models.DateField(verbose_name="date")),
                        (
                            "reason",
                            models.CharField(blank=True, max_length=200, verbose_name="reason"),
                        ),
                        (
                            "calendar",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="closed_days",
                                to="mes.workingcalendar",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "non-working day",
                        "verbose_name_plural": "non-working days",
                        "ordering": ["date"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("calendar", "date"), name="closed_day_unique"
                            )
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, back),
    ]
