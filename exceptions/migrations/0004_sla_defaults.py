"""Seed SLA targets per severity and the default escalation ladder (exceptions/defaults.py)."""

from django.db import migrations

from exceptions.defaults import seed_sla


def forwards(apps, schema_editor):
    seed_sla(apps)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0003_sla_escalation")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
