"""Acknowledgements become their own app (acknowledgements/): their two tables are renamed
to the new app's names and leave this app's state. No row is copied or lost.

acknowledgements/migrations/0001_initial.py, which depends on this one, takes the models
into its state without touching the database, moves their content types (so permissions,
object permissions and generic references keep pointing at the same rows) and installs the
record guards again under the new app's trigger names (pgtrigger names a trigger after
its model's app). Each migration commits on its own, so between this one and
acknowledgements 0001 the two tables have no guards: `manage.py migrate` runs both in one
go, with the portal stopped as for every migration; never stop in between."""

import pgtrigger.migrations
from django.db import migrations

TABLES = {
    "acknowledgementcampaign": (
        "training_acknowledgementcampaign",
        "acknowledgements_acknowledgementcampaign",
    ),
    "acknowledgement": ("training_acknowledgement", "acknowledgements_acknowledgement"),
}


def _rename_sequences(direction):
    """The id sequences follow their tables' names (only a name: the identity column owns
    its sequence whatever it is called, so inserts work either way)."""

    def rename(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for old, new in TABLES.values():
            # Forwards this runs after the tables' renaming, backwards before it is undone:
            # either way the table has its new name.
            target = f"{new}_id_seq" if direction == "forwards" else f"{old}_id_seq"
            with schema_editor.connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [new])
                (sequence,) = cursor.fetchone()
            if sequence and sequence.split(".")[-1].strip('"') != target:
                schema_editor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {target}")

    return rename


# The functions of the guards 0004 installed: pgtrigger drops a trigger but leaves its
# function behind. Backwards, 0004's triggers are installed again with their functions.
OLD_GUARD_FUNCTIONS = (
    "pgtrigger_acknowledgement_checked_1ca88",
    "pgtrigger_refuse_update_41507",
    "pgtrigger_refuse_delete_22028",
    "pgtrigger_refuse_truncate_13329",
)


def drop_old_guard_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for function in OLD_GUARD_FUNCTIONS:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0004_records_guards"),
    ]

    operations = [
        # The guards are named after the model's app (pgtrigger's ids hash "app.Model"):
        # dropped here, installed under the new names by acknowledgements 0001.
        pgtrigger.migrations.RemoveTrigger(
            model_name="acknowledgement", name="acknowledgement_checked"
        ),
        pgtrigger.migrations.RemoveTrigger(model_name="acknowledgement", name="refuse_update"),
        pgtrigger.migrations.RemoveTrigger(model_name="acknowledgement", name="refuse_delete"),
        pgtrigger.migrations.RemoveTrigger(model_name="acknowledgement", name="refuse_truncate"),
        migrations.RunPython(drop_old_guard_functions, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name=model, table=new)
                for model, (_old, new) in TABLES.items()
            ]
            + [migrations.RunPython(_rename_sequences("forwards"), _rename_sequences("backwards"))],
            state_operations=[
                migrations.DeleteModel(name="Acknowledgement"),
                migrations.DeleteModel(name="AcknowledgementCampaign"),
            ],
        ),
    ]
