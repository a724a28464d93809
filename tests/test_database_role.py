"""The portal runs as an ordinary PostgreSQL role that owns nothing: it does its work, and
cannot switch off, get round or empty the guards of the records (docker-compose.yml and
the README set it up with manage.py grant_app_role)."""

import uuid

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection

from isms import audit
from isms.models import AuditEvent

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="roles are PostgreSQL's"),
    # The role must see committed rows and grants, from its own connection.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def portal_role(people):
    """A fresh role, unique to this run, granted what the deployment grants the portal."""
    role = f"isms_records_app_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
    try:
        call_command("grant_app_role", role)
        settings = connection.settings_dict
        session = psycopg2.connect(
            dbname=settings["NAME"],
            user=role,
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
        )
        session.autocommit = True
        yield session
        session.close()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def refused(session, sql, params=()):
    with pytest.raises(psycopg2.Error) as error, session.cursor() as cursor:
        cursor.execute(sql, params)
    return str(error.value)


@pytest.fixture
def sealed_event(people):
    event = audit.record("role.assigned", actor=people["admin"], target=people["staff"])
    audit.seal_pending_events()
    event.refresh_from_db()
    return event


def test_the_portals_role_does_its_work(portal_role, sealed_event):
    with portal_role.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM isms_auditevent")
        assert cursor.fetchone()[0] >= 1
        cursor.execute(
            "INSERT INTO isms_auditevent (actor_name, action, target_type, target_id, "
            "target_repr, data, user_agent) VALUES ('', 'test.done', '', '', '', '{}', '')"
        )
        cursor.execute("UPDATE isms_user SET display_name = display_name WHERE id = %s", [1])
    # ...and the sealing job, running as that role, seals what it wrote.
    with portal_role.cursor() as cursor:
        cursor.execute(
            "UPDATE isms_auditevent SET chain_position = 999999, previous_hash = %s, hash = %s "
            "WHERE action = 'test.done'",
            ["0" * 64, "1" * 64],
        )
        assert cursor.rowcount == 1


def test_the_portals_role_cannot_disable_or_drop_the_triggers(portal_role):
    for sql in (
        "ALTER TABLE isms_auditevent DISABLE TRIGGER ALL",
        "ALTER TABLE isms_auditevent DISABLE TRIGGER USER",
        "ALTER TABLE acknowledgements_acknowledgement DISABLE TRIGGER USER",
        "ALTER TABLE isms_policyrevision DISABLE TRIGGER USER",
        "ALTER TABLE assets_asset DISABLE TRIGGER USER",
    ):
        assert "must be owner" in refused(portal_role, sql)
    assert "must be owner" in refused(
        portal_role, "DROP TRIGGER pgtrigger_refuse_delete_ca094 ON isms_auditevent"
    )
    assert "permission denied" in refused(portal_role, "SET session_replication_role = replica")


def test_the_portals_role_cannot_truncate_a_record_table(portal_role, sealed_event):
    with portal_role.cursor() as cursor:
        cursor.execute("SET isms.allow_truncate = 'on'")  # the tests' escape: not for it
    for table in ("isms_auditevent", "acknowledgements_acknowledgement", "assets_assetchange"):
        assert "permission denied" in refused(portal_role, f"TRUNCATE {table}")
    assert AuditEvent.objects.filter(pk=sealed_event.pk).exists()


def test_the_portals_role_cannot_update_or_delete_an_audit_event(portal_role, sealed_event):
    assert "permission denied" in refused(
        portal_role, "UPDATE isms_auditevent SET action = 'x' WHERE id = %s", [sealed_event.pk]
    )
    assert "permission denied" in refused(
        portal_role, "DELETE FROM isms_auditevent WHERE id = %s", [sealed_event.pk]
    )
    # The seal columns it may write, but once only: the trigger refuses a second seal.
    assert "append-only" in refused(
        portal_role,
        "UPDATE isms_auditevent SET hash = %s WHERE id = %s",
        ["f" * 64, sealed_event.pk],
    )
    with portal_role.cursor() as cursor:
        cursor.execute("SET pgtrigger.ignore = '{pgtrigger_sealing_only_4ba0b}'")
    assert "append-only" in refused(
        portal_role,
        "UPDATE isms_auditevent SET hash = %s WHERE id = %s",
        ["f" * 64, sealed_event.pk],
    )
    event = AuditEvent.objects.get(pk=sealed_event.pk)
    assert event.action == "role.assigned" and event.hash == sealed_event.hash


def test_the_portals_role_cannot_rewrite_acknowledgements_or_asset_history(portal_role):
    for sql in (
        "UPDATE acknowledgements_acknowledgement SET acknowledged_at = now()",
        "DELETE FROM acknowledgements_acknowledgement",
        "UPDATE assets_assetchange SET reason = 'x'",
        "DELETE FROM assets_assetchange",
    ):
        assert "permission denied" in refused(portal_role, sql)


def test_grant_app_role_refuses_a_superuser(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_app_role", connection.settings_dict["USER"] or "postgres")
