"""The rules' "mark for ERP" flag does what it says: a marked ticket's resolution goes to the ERP."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0005_raised_via_erp")]

    operations = [
        migrations.RenameField("exceptionticket", "erp_pending", "post_to_erp"),
        migrations.RenameField("historicalexceptionticket", "erp_pending", "post_to_erp"),
        migrations.AlterField(
            model_name="exceptionticket",
            name="post_to_erp",
            field=models.BooleanField(
                default=False,
                help_text="A rule marked it: exception.resolved goes to the ERP endpoints.",
                verbose_name="post the resolution to the ERP",
            ),
        ),
        migrations.AlterField(
            model_name="historicalexceptionticket",
            name="post_to_erp",
            field=models.BooleanField(
                default=False,
                help_text="A rule marked it: exception.resolved goes to the ERP endpoints.",
                verbose_name="post the resolution to the ERP",
            ),
        ),
    ]
