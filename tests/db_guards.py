"""The one place where the test suite gets past the database's guards.

Transactional tests (browser, live server, real worker, racing threads) end with Django's
flush, a TRUNCATE of every table, and the append-only tables refuse TRUNCATE
(isms.dbguards.refuse_truncate). The trigger lets it through only for the table's owner
*and* only in a transaction that sets `isms.allow_truncate`; this fixture sets it inside
flush's own transaction and nowhere else. The portal's production role owns no table, so it
cannot use the escape (tests/test_database_role.py proves it).
"""

import pytest
from django.db.backends.base.operations import BaseDatabaseOperations

ALLOW_TRUNCATE = "SET LOCAL isms.allow_truncate = 'on'"


@pytest.fixture(autouse=True, scope="session")
def flush_past_the_truncate_guard():
    flush = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        if self.connection.vendor == "postgresql" and sql_list:
            sql_list = [ALLOW_TRUNCATE, *sql_list]
        return flush(self, sql_list)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseDatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield
