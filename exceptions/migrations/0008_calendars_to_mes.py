"""The site calendar is a production concept: its models move to ``mes`` (mes 0008 takes them
over). The tables are renamed, not copied, so every row and its history stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0007_standard_form_schemas")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable("workingcalendar", "mes_workingcalendar"),
                migrations.AlterModelTable("nonworkingday", "mes_nonworkingday"),
                migrations.AlterModelTable(
                    "historicalworkingcalendar", "mes_historicalworkingcalendar"
                ),
                migrations.AlterModelTable(
                    "historicalnonworkingday", "mes_historicalnonworkingday"
                ),
            ],
            state_operations=[
                migrations.DeleteModel("historicalnonworkingday"),
                migrations.DeleteModel("nonworkingday"),
                migrations.DeleteModel("historicalworkingcalendar"),
                migrations.DeleteModel("workingcalendar"),
            ],
        )
    ]
