import pytest
from django.db import connection, transaction
from django.db.utils import InternalError

from isms import audit
from isms.exceptions import ImmutableRecordError
from isms.models import AuditEvent


@pytest.fixture
def event(people):
    return audit.record("role.assigned", actor=people["admin"], target=people["staff"])


def test_an_event_records_who_did_what_to_what(event, people):
    assert event.actor == people["admin"]
    assert event.actor_name == "admin"
    assert event.target_type == "isms.user"
    assert event.target_id == str(people["staff"].pk)


def test_an_event_cannot_be_changed(event):
    event.action = "something.else"
    with pytest.raises(ImmutableRecordError):
        event.save()
    with pytest.raises(ImmutableRecordError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")


def test_an_event_cannot_be_deleted(event):
    with pytest.raises(ImmutableRecordError):
        event.delete()
    with pytest.raises(ImmutableRecordError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_rewrite_the_trail_even_with_raw_sql(event):
    for sql in (
        "UPDATE isms_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM isms_auditevent WHERE id = %s",
    ):
        with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])
    event.refresh_from_db()
    assert event.action == "role.assigned"


def test_a_person_named_in_the_trail_cannot_be_deleted(event, people):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        people["admin"].delete()
