"""Each history entry carries the confidentiality it was written at, so that a declassified
asset's confidential past stays with those who could read it then.

Existing entries are filled from the history itself: walking each asset's entries from the
newest back, the level before a classification change is the change's old value; a level
name that cannot be matched counts as the most confidential one."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_ranks(apps, schema_editor):
    Asset = apps.get_model("assets", "Asset")
    AssetChange = apps.get_model("assets", "AssetChange")
    Level = apps.get_model("assets", "ClassificationLevel")
    connection = schema_editor.connection
    postgres = connection.vendor == "postgresql"
    if postgres:
        # The history is append-only (a trigger refuses updates); the new column is
        # derived from what each entry already says, written once, here.
        schema_editor.execute("ALTER TABLE assets_assetchange DISABLE TRIGGER USER")
    ranks = {}
    for name, rank in Level.objects.filter(axis="confidentiality").values_list("name", "rank"):
        ranks[name] = max(rank, ranks.get(name, 0))
    highest = max(ranks.values(), default=1)
    reclassified = AssetChange.objects.filter(kind="classified").values("asset_id")
    # Assets never reclassified had their present level throughout: one statement.
    AssetChange.objects.exclude(asset_id__in=reclassified).update(
        confidentiality_rank=Subquery(
            Asset.objects.filter(pk=OuterRef("asset_id")).values("confidentiality_rank")[:1]
        )
    )
    for asset in Asset.objects.filter(pk__in=reclassified).only("pk", "confidentiality_rank"):
        level = asset.confidentiality_rank
        for change in AssetChange.objects.filter(asset=asset).order_by("-changed_at", "-pk"):
            entry_rank = level
            old_new = (change.changes or {}).get("confidentiality")
            if old_new and old_new[0] is not None:
                before = ranks.get(old_new[0], highest)
                entry_rank = max(level, before)
                level = before
            AssetChange.objects.filter(pk=change.pk).update(confidentiality_rank=entry_rank)
    if postgres:
        schema_editor.execute("ALTER TABLE assets_assetchange ENABLE TRIGGER USER")


class Migration(migrations.Migration):
    dependencies = [
        ("assets", "0003_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="assetchange",
            name="confidentiality_rank",
            field=models.PositiveSmallIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(fill_ranks, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="assetchange",
            name="confidentiality_rank",
            field=models.PositiveSmallIntegerField(editable=False),
        ),
    ]
