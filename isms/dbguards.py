"""Database-level guards for records that prove compliance.

The models already refuse updates and deletes; these triggers make PostgreSQL refuse them
too, so not even a raw SQL session or a bulk tool can rewrite the records.

The triggers are declared in each model's ``Meta.triggers`` with django-pgtrigger (so
``makemigrations`` writes them and ``makemigrations --check`` notices drift), through the
classes below. They differ from pgtrigger's own in one way that matters: pgtrigger's
triggers obey ``SET pgtrigger.ignore = ...``, a setting any database session may change,
including the portal's own unprivileged role. A guard the guarded party can switch off is
no guard, so ours are installed without that escape (``GuardSql``).

``append_only()`` and ``frozen_when_published()`` are the first, hand-written triggers; old
migrations still call them, and ``drop_hand_written()`` removes them where pgtrigger's
replace them.
"""

import pgtrigger
from django.db import migrations
from pgtrigger import compiler

# Tables whose rows are never changed or removed once written (TRUNCATE included). The
# deployment's grants (manage.py grant_app_role) read this list too.
APPEND_ONLY_TABLES = (
    "isms_auditevent",
    "acknowledgements_acknowledgement",
    "assets_assetchange",
    "isms_unitchange",
    "incidents_timelineentry",
)
# Published revisions are frozen rather than append-only: drafts still change.
PROTECTED_TABLES = (*APPEND_ONLY_TABLES, "isms_policyrevision")
# The audit event's seal, the only columns of an event that are ever written after the
# insert: once, from NULL to a value (isms.audit.seal_pending_events()).
AUDIT_SEAL_COLUMNS = ("chain_position", "previous_hash", "hash")


class GuardSql(compiler.UpsertTriggerSql):
    """pgtrigger's installation SQL without its ``pgtrigger.ignore`` bypass.

    Migrations refer to this class by path: do not change the template once a migration
    uses it; add a new class instead."""

    def get_template(self):
        return """
            CREATE OR REPLACE FUNCTION {pgid}()
            RETURNS TRIGGER AS $$
                {declare}
                BEGIN
                    {func}
                END;
            $$ LANGUAGE plpgsql;

            DROP TRIGGER IF EXISTS {pgid} ON {table};
            CREATE {constraint} TRIGGER {pgid}
                {when} {operation} ON {table}
                {timing}
                {referencing}
                FOR EACH {level} {condition}
                EXECUTE PROCEDURE {execute};

            COMMENT ON TRIGGER {pgid} ON {table} IS '{hash}';
        """


class _Unbypassable:
    def compile(self, model):
        compiled = super().compile(model)
        return compiler.Trigger(name=compiled.name, sql=GuardSql(**compiled.sql.kwargs))


class Trigger(_Unbypassable, pgtrigger.Trigger):
    """A free-form trigger that no session setting switches off."""


class Sql(pgtrigger.Condition):
    """A condition written as SQL around other conditions:
    ``Sql("{a} AND NOT {b}", a=pgtrigger.Q(...), b=ChangesOnly(...))``."""

    def __init__(self, template, **parts):
        self.template = template
        self.parts = parts
        self.sql = template

    def resolve(self, model):
        # Wrapped whole: a trigger's WHEN takes one parenthesised expression.
        parts = {name: f"({part.resolve(model)})" for name, part in self.parts.items()}
        return f"({self.template.format(**parts)})"


class ChangesOnly(pgtrigger.Condition):
    """True for an UPDATE that changes no column but ``free`` ones and the ``set_once``
    ones, each of which goes from NULL to a value. Every other column of the model is
    compared, so a column added later is protected without anyone remembering to."""

    sql = "ChangesOnly"

    def __init__(self, *, set_once=(), free=()):
        self.set_once = tuple(set_once)
        self.free = tuple(free)

    def resolve(self, model):
        skipped = {model._meta.get_field(name).column for name in (*self.set_once, *self.free)}
        kept = [f.column for f in model._meta.concrete_fields if f.column not in skipped]
        old = ", ".join(f'OLD."{column}"' for column in kept)
        new = ", ".join(f'NEW."{column}"' for column in kept)
        clauses = [f"ROW({old}) IS NOT DISTINCT FROM ROW({new})"]
        for name in self.set_once:
            column = model._meta.get_field(name).column
            clauses.append(f'OLD."{column}" IS NULL AND NEW."{column}" IS NOT NULL')
        return " AND ".join(clauses)


def refuse(operation, *, name, condition=None, reason="is append-only"):
    """pgtrigger.Protect, with a message that says which record and why."""
    return Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=operation,
        condition=condition,
        func=f"RAISE EXCEPTION '% {reason}: % refused', TG_TABLE_NAME, TG_OP;",
    )


def refuse_delete(name="refuse_delete", **kwargs):
    return refuse(pgtrigger.Delete, name=name, **kwargs)


def refuse_update(name="refuse_update", **kwargs):
    return refuse(pgtrigger.Update, name=name, **kwargs)


def refuse_truncate():
    """TRUNCATE empties a table without a row trigger firing: refuse it.

    The one exception is for the test suite, whose transactional tests end with Django's
    flush (a TRUNCATE of every table): it passes only when the session is the table's
    owner (or a superuser) *and* has set ``isms.allow_truncate`` for the transaction
    (tests/db_guards.py does both). The portal's role owns no table, so the setting does
    nothing for it; it has no TRUNCATE privilege either."""
    return Trigger(
        name="refuse_truncate",
        level=pgtrigger.Statement,
        when=pgtrigger.Before,
        operation=pgtrigger.Truncate,
        func="""
            IF current_setting('isms.allow_truncate', true) = 'on'
               AND pg_has_role(
                   current_user,
                   (SELECT relowner FROM pg_class WHERE oid = TG_RELID),
                   'MEMBER'
               ) THEN
                RETURN NULL;
            END IF;
            RAISE EXCEPTION '% is a record that proves compliance: TRUNCATE refused',
                TG_TABLE_NAME;
        """,
    )


def time_from_database_clock(field, *, cleared=(), name=None):
    """Whatever the INSERT says, the row's time is the database server's (the start of the
    transaction, as Django's Now()), so no client can back-date a record; `cleared` columns
    start NULL whatever the INSERT says (an audit event is sealed later, never born sealed)."""
    assignments = [f"NEW.{{columns.{field}}} := now();"]
    assignments += [f"NEW.{{columns.{column}}} := NULL;" for column in cleared]
    return Trigger(
        name=name or f"{field}_from_db_clock",
        when=pgtrigger.Before,
        operation=pgtrigger.Insert,
        func=pgtrigger.Func(" ".join(assignments) + " RETURN NEW;"),
    )


def drop_hand_written(original, table, function):
    """Remove one of the first, hand-written triggers, replaced by a pgtrigger one;
    `original` is the operation that created it, run again when migrating backwards."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {function} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")

    return migrations.RunPython(forwards, original.code)


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
