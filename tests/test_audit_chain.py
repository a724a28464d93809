"""The tamper-evident audit trail: a sealing job chains events by hash, verify_audit_trail
names the first broken link, the weekly summary states the head of the chain."""

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from isms import audit, tasks
from isms.models import AuditEvent
from isms.models.audit import GENESIS_HASH

from .reminder_helpers import give_addresses, mail_to, speaks_english

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers are PostgreSQL's"
)


def verify(*args):
    """verify_audit_trail's output, or the CommandError (exit status 1) it raised."""
    from io import StringIO

    out = StringIO()
    call_command("verify_audit_trail", *args, stdout=out)
    return out.getvalue()


def behind_the_portals_back(sql, params):
    """As the tables' owner, who can switch the triggers off: what an intruder with the
    owner's password, or a careless operator, could do."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no FK check
        cursor.execute("ALTER TABLE isms_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE isms_auditevent ENABLE TRIGGER USER")


@pytest.fixture
def sealed_trail(documents, people):
    """The fixtures' events (publications, role grants) and a few more, all sealed."""
    for n in range(3):
        audit.record("role.assigned", actor=people["admin"], target=people["staff"], data={"n": n})
    audit.seal_pending_events()
    return list(AuditEvent.objects.order_by("chain_position"))


def test_sealing_chains_every_event_in_order_behind_the_one_before(sealed_trail):
    assert [e.chain_position for e in sealed_trail] == list(range(1, len(sealed_trail) + 1))
    assert sealed_trail[0].previous_hash == GENESIS_HASH
    for before, event in zip(sealed_trail, sealed_trail[1:], strict=False):
        assert event.previous_hash == before.hash
        assert event.hash == event.compute_hash()


def test_sealing_again_seals_only_what_is_new(sealed_trail, people):
    assert audit.seal_pending_events() == 0
    event = audit.record("role.revoked", actor=people["admin"], target=people["staff"])
    assert audit.seal_pending_events() == 1
    event.refresh_from_db()
    assert event.chain_position == len(sealed_trail) + 1
    assert event.previous_hash == sealed_trail[-1].hash


def test_the_sealing_job_runs_every_minute():
    schedule = settings.CELERY_BEAT_SCHEDULE["seal-audit-trail"]
    assert schedule["task"] == "isms.tasks.seal_audit_trail"
    assert str(schedule["schedule"]._orig_minute) == "*"
    assert str(schedule["schedule"]._orig_hour) == "*"


def test_verify_passes_on_an_intact_trail_and_names_its_head(sealed_trail, people):
    audit.record("role.revoked", actor=people["admin"], target=people["staff"])
    output = verify()
    assert f"{len(sealed_trail)} sealed event(s)" in output
    assert sealed_trail[-1].hash in output
    assert "1 recent event(s) are not sealed yet" in output


def test_a_sealed_event_cannot_be_sealed_again(sealed_trail):
    from isms.exceptions import ImmutableRecordError

    event = sealed_trail[1]
    assert AuditEvent.objects.filter(pk=event.pk).update(hash="f" * 64) == 0
    with pytest.raises(ImmutableRecordError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x", hash="f" * 64)
    event.refresh_from_db()
    assert event.hash == event.compute_hash()


@postgresql_only
def test_the_database_refuses_to_seal_an_event_twice(sealed_trail):
    from django.db import transaction
    from django.db.utils import InternalError

    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE isms_auditevent SET hash = %s WHERE id = %s", ["f" * 64, sealed_trail[1].pk]
        )


@postgresql_only
def test_verify_names_the_event_changed_behind_the_portals_back(sealed_trail):
    victim = sealed_trail[2]
    behind_the_portals_back(
        "UPDATE isms_auditevent SET actor_name = 'someone-else' WHERE id = %s", [victim.pk]
    )
    with pytest.raises(CommandError) as failure:
        verify()
    message = str(failure.value)
    assert f"broken at event {victim.pk} (position {victim.chain_position}" in message
    assert "content has changed" in message


@postgresql_only
def test_verify_names_the_gap_left_by_a_deleted_event(sealed_trail):
    victim, follower = sealed_trail[1], sealed_trail[2]
    behind_the_portals_back("DELETE FROM isms_auditevent WHERE id = %s", [victim.pk])
    with pytest.raises(CommandError) as failure:
        verify()
    assert f"broken at event {follower.pk}" in str(failure.value)
    assert "missing" in str(failure.value)


@postgresql_only
def test_verify_notices_a_rewritten_chain_against_the_head_the_summary_stated(sealed_trail):
    stated_head = sealed_trail[-1].hash
    assert "intact" in verify("--head", stated_head)
    # Rewrite one event and re-seal everything from it on, as a careful intruder would.
    victim = sealed_trail[1]
    behind_the_portals_back(
        "UPDATE isms_auditevent SET actor_name = 'x', chain_position = NULL, "
        "previous_hash = NULL, hash = NULL WHERE chain_position >= %s",
        [victim.chain_position],
    )
    audit.seal_pending_events()
    verify()  # the chain is consistent again...
    with pytest.raises(CommandError, match="no longer holds the head"):
        verify("--head", stated_head)  # ...but no longer holds what the CISO was told


def test_the_weekly_summary_states_the_head_of_the_chain(documents, people, mailoutbox):
    give_addresses(people)
    admin = speaks_english(people["admin"])
    tasks.weekly_summary()
    head = audit.chain_head()
    # Sealed just before the summary: the head covers everything recorded until then.
    assert head.chain_position == AuditEvent.objects.count()
    assert not AuditEvent.objects.filter(hash__isnull=True).exists()

    (japanese,) = mail_to(mailoutbox, people["ciso"])
    assert "■ 監査証跡" in japanese.body
    assert f"SHA-256: {head.hash}" in japanese.body
    (english,) = mail_to(mailoutbox, admin)
    assert "■ Audit trail" in english.body
    assert f"Head of the chain: event {head.pk}, position {head.chain_position}" in english.body
    assert f"SHA-256 of the head: {head.hash}" in english.body
