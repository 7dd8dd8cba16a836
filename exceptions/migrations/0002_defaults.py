"""Seed the default workflow, exception types and routing rules (exceptions/defaults.py),
and give the roles their exception permissions."""

from django.db import migrations

from exceptions.defaults import seed
from mes.roles import sync_roles


def forwards(apps, schema_editor):
    sync_roles(apps, schema_editor)
    seed(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0001_initial"),
        ("mes", "0002_roles"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
