"""The clear-text keys of rest_framework.authtoken do not survive migration isms 0012: its
table is dropped and the new token table starts empty (README, "API tokens")."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from isms.models import ApiToken, User

BEFORE = ("isms", "0011_signed_in_sessions")
AFTER = ("isms", "0012_api_tokens")

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])


def migrate_to_the_latest():
    """Back to the models the code has (later migrations add columns the API reads)."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def tables():
    return set(connection.introspection.table_names())


def test_the_old_clear_text_tokens_are_gone_after_the_migration():
    user = User.objects.create_user("legacy_client", password="x-Unused-2026")
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            # The table rest_framework.authtoken made, with a key in clear as it kept them.
            cursor.execute(
                "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
                "created timestamptz NOT NULL, user_id bigint NOT NULL UNIQUE)"
            )
            cursor.execute(
                "INSERT INTO authtoken_token VALUES (%s, now(), %s)", ["a" * 40, user.pk]
            )
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) "
                "VALUES ('authtoken', '0001_initial', now())"
            )
    finally:
        migrate(AFTER)
    assert "authtoken_token" not in tables()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
    assert not ApiToken.objects.exists()
    migrate_to_the_latest()
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "a" * 40)
    assert api.get("/api/me/").status_code == 401
