"""Seed the role groups with their permissions (see mes/roles.py)."""

from django.db import migrations

from mes.roles import sync_roles


class Migration(migrations.Migration):
    dependencies = [
        ("mes", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
