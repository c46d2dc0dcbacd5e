"""The 21 regions and autonomous provinces with their Ministry of Health codes (DOMAIN.md)."""

from django.db import migrations

from registry.regions import REGIONS



def load_regions(apps, schema_editor):
    Region = apps.get_model("registry", "Region")
    for code, name in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]
