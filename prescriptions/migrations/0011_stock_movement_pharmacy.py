"""Each stock movement names its lot's pharmacy, indexed with its moment: the pharmacy page's newest movements
are one backward index walk instead of a join through the lots and a sort of all their movements (issue 20)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_pharmacy(apps, schema_editor):
    StockMovement = apps.get_model("prescriptions", "StockMovement")
    Lot = apps.get_model("prescriptions", "Lot")
    StockMovement.objects.filter(pharmacy__isnull=True).update(
        pharmacy_id=Subquery(Lot.objects.filter(pk=OuterRef("lot_id")).values("pharmacy_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("prescriptions", "0010_adverse_event_meddra_code"),
        ("registry", "0014_access_kind_e2b_bulk"),
    ]

    operations = [
        migrations.AddField(
            model_name="stockmovement",
            name="pharmacy",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="stock_movements",
                to="registry.pharmacy",
            ),
        ),
        migrations.RunPython(copy_pharmacy, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="stockmovement",
            name="pharmacy",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="stock_movements",
                to="registry.pharmacy",
            ),
        ),
        migrations.AddIndex(
            model_name="stockmovement",
            index=models.Index(fields=["pharmacy", "recorded_at", "id"], name="stock_movement_by_pharmacy"),
        ),
    ]
