"""A routing rule can apply only while the exception is not yet routed (``when_unrouted``); the
seeded catch-all "Unrouted exceptions go to the supervisor" becomes one, as its name always
said, so it no longer undoes a more specific rule ordered before it. The change is written to
the rule's history like any other."""

from django.db import migrations, models
from django.utils import timezone

CATCH_ALL = "Unrouted exceptions go to the supervisor"
HELP = (
    "Skipped when an earlier rule already put the exception in a queue or assigned it (a "
    "catch-all that does not undo a more specific rule)."
)


def forwards(apps, schema_editor):
    RoutingRule = apps.get_model("exceptions", "RoutingRule")
    History = apps.get_model("exceptions", "HistoricalRoutingRule")
    for rule in RoutingRule.objects.filter(name=CATCH_ALL, trigger="raised", when_unrouted=False):
        rule.when_unrouted = True
        rule.save(update_fields=["when_unrouted"])
        History.objects.create(
            **{f.attname: getattr(rule, f.attname) for f in RoutingRule._meta.concrete_fields},
            history_date=timezone.now(),
            history_type="~",
            history_change_reason="upgrade: a catch-all applies only to unrouted exceptions",
        )


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0009_triage_permission")]

    operations = [
        migrations.AddField(
            model_name="historicalroutingrule",
            name="when_unrouted",
            field=models.BooleanField(
                default=False, help_text=HELP, verbose_name="only if not yet routed"
            ),
        ),
        migrations.AddField(
            model_name="routingrule",
            name="when_unrouted",
            field=models.BooleanField(
                default=False, help_text=HELP, verbose_name="only if not yet routed"
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
