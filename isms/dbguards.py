"""Database-level guards for records that prove compliance.

The models already refuse updates and deletes; these triggers make PostgreSQL refuse them
too, so not even a raw SQL session or a bulk tool can rewrite the trail. (TRUNCATE, which
only the database owner can run, is not a row change and stays possible for test set-up.)
"""

from django.db import migrations


def append_only(table):
    function = f"{table}_append_only"

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{table} is append-only: % refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER {function}
                BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {function}();
            """,
            params=None,  # the SQL holds a literal % for RAISE
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();"
        )

    return migrations.RunPython(forwards, backwards)


def frozen_when_published(table):
    """Published and superseded revisions: no delete, and no change but published ->
    superseded."""
    function = f"{table}_frozen"

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"""
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
            BEGIN
                IF OLD.status NOT IN ('published', 'superseded') THEN
                    RETURN COALESCE(NEW, OLD);
                END IF;
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'a published revision cannot be deleted';
                END IF;
                IF NEW.status NOT IN ('published', 'superseded')
                   OR (ROW(NEW.document_id, NEW.number, NEW.title, NEW.body, NEW.change_summary,
                           NEW.effective_date, NEW.is_material, NEW.content_sha256,
                           NEW.author_id, NEW.approved_by_id, NEW.published_by_id,
                           NEW.published_at)
                       IS DISTINCT FROM
                       ROW(OLD.document_id, OLD.number, OLD.title, OLD.body, OLD.change_summary,
                           OLD.effective_date, OLD.is_material, OLD.content_sha256,
                           OLD.author_id, OLD.approved_by_id, OLD.published_by_id,
                           OLD.published_at)) THEN
                    RAISE EXCEPTION 'a published revision cannot be changed';
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER {function}
                BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {function}();
            """,
            params=None,  # the SQL holds a literal % for RAISE
        )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {function} ON {table}; DROP FUNCTION IF EXISTS {function}();"
        )

    return migrations.RunPython(forwards, backwards)
