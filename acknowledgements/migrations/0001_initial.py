"""The acknowledgements' models, which until now were the training app's: their tables
exist already (training 0005 renamed them), so the models enter this app's state only; the
content types move with them; the record guards are installed again under this app's
trigger names (training 0005 dropped the old ones just before)."""

import django.db.models.deletion
import django.db.models.functions.datetime
import isms.dbguards
import pgtrigger.compiler
import pgtrigger.migrations
from django.conf import settings
from django.db import migrations, models

MODELS = ("acknowledgement", "acknowledgementcampaign")


def move_content_types(source, target):
    """The existing content type rows change app, so that auth permissions, guardian's
    object permissions and anything else that points at them keeps pointing at them; no
    second row is created for the same model. On a new database there is nothing to move
    yet (content types are created after the migrations)."""

    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        types = ContentType.objects.using(schema_editor.connection.alias)
        for model in MODELS:
            if not types.filter(app_label=target, model=model).exists():
                types.filter(app_label=source, model=model).update(app_label=target)

    return move


# The functions of the guards installed below: backwards, pgtrigger drops the triggers and
# leaves these behind.
GUARD_FUNCTIONS = (
    "pgtrigger_acknowledgement_checked_929c7",
    "pgtrigger_refuse_update_78b9c",
    "pgtrigger_refuse_delete_9d260",
    "pgtrigger_refuse_truncate_7a7c5",
)


def drop_guard_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for function in GUARD_FUNCTIONS:
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("isms", "0007_audit_chain_and_guards"),
        ("training", "0005_acknowledgements_move_out"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AcknowledgementCampaign",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("deadline", models.DateField(verbose_name="deadline")),
                        (
                            "opened_at",
                            models.DateTimeField(auto_now_add=True, verbose_name="opened"),
                        ),
                        (
                            "opened_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="opened by",
                            ),
                        ),
                        (
                            "revision",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="campaign",
                                to="isms.policyrevision",
                                verbose_name="revision",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "acknowledgement campaign",
                        "verbose_name_plural": "acknowledgement campaigns",
                        "ordering": ["-opened_at"],
                    },
                ),
                migrations.CreateModel(
                    name="Acknowledgement",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "content_sha256",
                            models.CharField(max_length=64, verbose_name="SHA-256 of the content"),
                        ),
                        (
                            "acknowledged_at",
                            models.DateTimeField(
                                db_default=django.db.models.functions.datetime.Now(),
                                verbose_name="acknowledged",
                            ),
                        ),
                        (
                            "ip_address",
                            models.GenericIPAddressField(
                                blank=True, null=True, verbose_name="IP address"
                            ),
                        ),
                        (
                            "user_agent",
                            models.CharField(blank=True, max_length=300, verbose_name="user agent"),
                        ),
                        (
                            "revision",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="acknowledgements",
                                to="isms.policyrevision",
                                verbose_name="revision",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="acknowledgements",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "acknowledgement",
                        "verbose_name_plural": "acknowledgements",
                        "ordering": ["-acknowledged_at"],
                        "indexes": [
                            models.Index(fields=["revision", "user"], name="ack_revision_user_idx")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("user", "revision"), name="one_ack_per_user_revision"
                            )
                        ],
                    },
                ),
            ]
        ),
        migrations.RunPython(
            move_content_types("training", "acknowledgements"),
            move_content_types("acknowledgements", "training"),
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_guard_functions),
        pgtrigger.migrations.AddTrigger(
            model_name="acknowledgement",
            trigger=pgtrigger.compiler.Trigger(
                name="acknowledgement_checked",
                sql=isms.dbguards.GuardSql(
                    func="\n                    NEW.acknowledged_at := now();\n                    IF NOT EXISTS (\n                        SELECT 1 FROM isms_policyrevision r\n                        WHERE r.id = NEW.revision_id AND r.status = 'published'\n                          AND r.content_sha256 <> '' AND r.content_sha256 = NEW.content_sha256\n                    ) THEN\n                        RAISE EXCEPTION 'acknowledgement refused: not the SHA-256 of '\n                            'published revision %', NEW.revision_id;\n                    END IF;\n                    RETURN NEW;\n                ",
                    hash="444bd684f419c75007d2fa88e121c7a92e32eca9",
                    operation="INSERT",
                    pgid="pgtrigger_acknowledgement_checked_929c7",
                    table="acknowledgements_acknowledgement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="acknowledgement",
            trigger=pgtrigger.compiler.Trigger(
                name="refuse_update",
                sql=isms.dbguards.GuardSql(
                    func="RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;",
                    hash="056f8c208f47ee4ba9edcd811f210ec91599e5d5",
                    operation="UPDATE",
                    pgid="pgtrigger_refuse_update_78b9c",
                    table="acknowledgements_acknowledgement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="acknowledgement",
            trigger=pgtrigger.compiler.Trigger(
                name="refuse_delete",
                sql=isms.dbguards.GuardSql(
                    func="RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;",
                    hash="fbf5a294979c147fd5fbd3ee1e029ad9dc2fd299",
                    operation="DELETE",
                    pgid="pgtrigger_refuse_delete_9d260",
                    table="acknowledgements_acknowledgement",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="acknowledgement",
            trigger=pgtrigger.compiler.Trigger(
                name="refuse_truncate",
                sql=isms.dbguards.GuardSql(
                    func="\n            IF current_setting('isms.allow_truncate', true) = 'on'\n               AND pg_has_role(\n                   current_user,\n                   (SELECT relowner FROM pg_class WHERE oid = TG_RELID),\n                   'MEMBER'\n               ) THEN\n                RETURN NULL;\n            END IF;\n            RAISE EXCEPTION '% is a record that proves compliance: TRUNCATE refused',\n                TG_TABLE_NAME;\n        ",
                    hash="22cb2bccbc63dcc3efa0270407a1a60d50529604",
                    level="STATEMENT",
                    operation="TRUNCATE",
                    pgid="pgtrigger_refuse_truncate_7a7c5",
                    table="acknowledgements_acknowledgement",
                    when="BEFORE",
                ),
            ),
        ),
    ]
