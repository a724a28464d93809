"""Give the portal's own PostgreSQL role what it needs, and nothing it must not have.

Run by the owner of the tables (the role that migrates), after every migrate:

    manage.py migrate && manage.py grant_app_role isms_app

The portal's role may read and write the portal's tables, but it owns none of them, so it
cannot alter, disable or drop a trigger; it gets no TRUNCATE anywhere, no UPDATE or DELETE
on the append-only records, and of an audit event it may write only the seal. The SQL is
the README's ("Running it with docker compose")."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from isms.dbguards import APPEND_ONLY_TABLES, AUDIT_SEAL_COLUMNS


def grant_statements(role):
    quoted = connection.ops.quote_name(role)
    seal = ", ".join(AUDIT_SEAL_COLUMNS)
    append_only = ", ".join(APPEND_ONLY_TABLES)
    return [
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {quoted}",
        f"REVOKE UPDATE, DELETE ON {append_only} FROM {quoted}",
        f"GRANT UPDATE ({seal}) ON isms_auditevent TO {quoted}",
        # Tables that later migrations create: readable and writable at once (the next
        # grant_app_role narrows any new append-only table).
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
    ]


class Command(BaseCommand):
    help = "Grant the portal's PostgreSQL role its privileges (run as the tables' owner)."

    def add_arguments(self, parser):
        parser.add_argument("role", help="the portal's role, e.g. isms_app")

    def handle(self, *args, role, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Roles and grants are PostgreSQL's; nothing to do here.")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper OR rolbypassrls, pg_has_role(%s, current_user, 'MEMBER') "
                "FROM pg_roles WHERE rolname = %s",
                [role, role],
            )
            row = cursor.fetchone()
            if row is None:
                raise CommandError(f"There is no role {role}: create it first (see README).")
            if row[0] or row[1]:
                raise CommandError(
                    f"{role} is a superuser or a member of the owner role: it could disable "
                    "the triggers. Use an ordinary role."
                )
            for statement in grant_statements(role):
                cursor.execute(statement)
        self.stdout.write(self.style.SUCCESS(f"Granted the portal's privileges to {role}."))
