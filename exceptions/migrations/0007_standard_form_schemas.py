"""Form schemas become standard JSON Schema: ``{"type": "date"}`` (which no JSON Schema tool
understands) is written ``{"type": "string", "format": "date"}``, and date-time likewise."""

from django.db import migrations


def to_standard(schema):
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return schema, False
    changed = False
    for spec in properties.values():
        if isinstance(spec, dict) and spec.get("type") in ("date", "date-time"):
            spec["format"] = spec["type"]
            spec["type"] = "string"
            changed = True
    return schema, changed


def forwards(apps, schema_editor):
    ExceptionType = apps.get_model("exceptions", "ExceptionType")
    for exception_type in ExceptionType.objects.all():
        schema, changed = to_standard(exception_type.form_schema)
        if changed:
            ExceptionType.objects.filter(pk=exception_type.pk).update(form_schema=schema)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0006_post_to_erp")]

    # Backwards: the old code read {"type": "string", "format": "date"} as well.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
