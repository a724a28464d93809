"""The index that holds a staff member's visibility filter and the confidentiality filter
(bench/asset_register.py: the chief's count at 100,000 assets from a sequential scan to an
index-only scan)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("assets", "0005_records_guards")]

    operations = [
        migrations.AddIndex(
            model_name="asset",
            index=models.Index(
                fields=["confidentiality_rank", "section", "custodian", "confidentiality"],
                name="asset_visibility_idx",
            ),
        ),
    ]
