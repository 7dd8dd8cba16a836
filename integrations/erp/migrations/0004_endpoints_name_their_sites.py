"""An ERP endpoint serves the sites it names, and no site means none (it meant every site).
Existing endpoints without sites keep what they did: they are given every site."""

from django.db import migrations, models


def name_every_site(apps, schema_editor):
    ErpEndpoint = apps.get_model("erp", "ErpEndpoint")
    Site = apps.get_model("mes", "Site")
    sites = list(Site.objects.all())
    for endpoint in ErpEndpoint.objects.filter(sites__isnull=True):
        endpoint.sites.set(sites)


class Migration(migrations.Migration):
    dependencies = [
        ("erp", "0003_feed_and_sync"),
        ("mes", "0009_user_history"),
    ]

    operations = [
        migrations.RunPython(name_every_site, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="erpendpoint",
            name="sites",
            field=models.ManyToManyField(
                help_text="The sites whose events this ERP receives (and only those).",
                related_name="+",
                to="mes.site",
                verbose_name="sites",
            ),
        ),
    ]
