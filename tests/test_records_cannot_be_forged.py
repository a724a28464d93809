"""Records that prove compliance cannot be forged: not through the models, and not with raw
SQL as the owner of the tables on PostgreSQL (issue 8, "Records that cannot be forged")."""

import datetime

import pytest
from django.db import connection, transaction
from django.db.utils import InternalError
from django.utils import timezone

from acknowledgements import services as acks
from acknowledgements.models import Acknowledgement
from assets import services as asset_services
from assets.models import Asset, AssetChange, ChangeKind
from isms import audit, policy_actions
from isms.exceptions import ImmutableRecordError
from isms.models import AuditEvent, PolicyRevision, RevisionStatus

from .conftest import publish

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers are PostgreSQL's"
)
LONG_AGO = datetime.datetime(2001, 1, 1, tzinfo=datetime.UTC)


def refused(sql, params=()):
    """Run raw SQL as the test's role (the tables' owner) and expect the database to say no."""
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def check_foreign_keys_now():
    """TRUNCATE waits for no deferred foreign-key check, and the test's transaction has some."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def database_now():
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


@pytest.fixture
def superseded(documents, people):
    """The standard's first revision, superseded by a second one."""
    old = documents["standard"].current_revision()
    publish(documents["standard"], author=people["admin"], approver=people["ciso"], body="第2版")
    old.refresh_from_db()
    assert old.status == RevisionStatus.SUPERSEDED
    return old


# --- published revisions ----------------------------------------------------------------


@postgresql_only
def test_a_superseded_revision_cannot_become_published_again_in_the_database(superseded):
    refused("UPDATE isms_policyrevision SET status = 'published' WHERE id = %s", [superseded.pk])
    refused(
        "UPDATE isms_policyrevision SET status = 'published', superseded_at = NULL WHERE id = %s",
        [superseded.pk],
    )
    superseded.refresh_from_db()
    assert superseded.status == RevisionStatus.SUPERSEDED


def test_a_superseded_revision_cannot_become_published_again_through_the_models(superseded):
    with pytest.raises(ImmutableRecordError):
        PolicyRevision.objects.filter(pk=superseded.pk).update(
            status=RevisionStatus.PUBLISHED, superseded_at=None
        )
    with pytest.raises(ImmutableRecordError):
        PolicyRevision.objects.filter(pk=superseded.pk).update(
            status=RevisionStatus.SUPERSEDED, superseded_at=timezone.now()
        )
    superseded.status = RevisionStatus.PUBLISHED
    with pytest.raises(ImmutableRecordError):
        superseded.save()


@postgresql_only
@pytest.mark.parametrize(
    "column", ["published_at", "updated_at", "created_at", "approved_at", "submitted_at"]
)
def test_the_times_of_a_published_revision_cannot_change(standard, column):
    refused(f"UPDATE isms_policyrevision SET {column} = %s WHERE id = %s", [LONG_AGO, standard.pk])


@postgresql_only
def test_a_revision_is_superseded_once_and_its_time_never_changes_after(superseded):
    refused(
        "UPDATE isms_policyrevision SET superseded_at = %s WHERE id = %s",
        [LONG_AGO, superseded.pk],
    )


@postgresql_only
def test_superseding_leaves_every_other_column_as_it_was(standard):
    refused(
        "UPDATE isms_policyrevision SET status = 'superseded', superseded_at = now(), "
        "title = 'x' WHERE id = %s",
        [standard.pk],
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE isms_policyrevision SET status = 'superseded', superseded_at = now() "
            "WHERE id = %s",
            [standard.pk],
        )
    standard = PolicyRevision.objects.get(pk=standard.pk)
    assert standard.status == RevisionStatus.SUPERSEDED


# --- TRUNCATE -----------------------------------------------------------------------------


@postgresql_only
@pytest.mark.parametrize(
    "table",
    [
        "isms_auditevent",
        "acknowledgements_acknowledgement",
        "assets_assetchange",
        "isms_policyrevision",
    ],
)
def test_truncate_of_a_record_table_is_refused_even_for_the_owner(documents, table):
    check_foreign_keys_now()
    refused(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.exists()


@postgresql_only
def test_the_test_suites_escape_needs_the_setting_in_the_same_transaction(documents):
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('isms.allow_truncate', 'on', false)")
    check_foreign_keys_now()
    try:
        # Set for the session, but also needs the table's owner: the test role is the
        # owner here, so the escape works; test_database_role shows the portal's does not.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE isms_auditevent")
            cursor.execute("SELECT count(*) FROM isms_auditevent")
            assert cursor.fetchone()[0] == 0
            transaction.set_rollback(True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET isms.allow_truncate")
    refused("TRUNCATE isms_auditevent")


# --- times from the database clock ------------------------------------------------------


@postgresql_only
def test_an_audit_event_cannot_be_back_dated_or_born_sealed(people):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO isms_auditevent (created_at, actor_name, action, target_type, "
            "target_id, target_repr, data, user_agent, chain_position, previous_hash, hash) "
            "VALUES (%s, 'admin', 'role.assigned', '', '', '', '{}', '', 1, %s, %s) "
            "RETURNING id",
            [LONG_AGO, "0" * 64, "f" * 64],
        )
        pk = cursor.fetchone()[0]
    event = AuditEvent.objects.get(pk=pk)
    assert event.created_at == database_now()
    assert (event.chain_position, event.previous_hash, event.hash) == (None, None, None)


def test_an_audit_event_takes_its_time_from_the_database(people):
    event = audit.record("role.assigned", actor=people["admin"])
    assert event.created_at == database_now()
    assert AuditEvent.objects.get(pk=event.pk).created_at == event.created_at


@postgresql_only
def test_an_acknowledgement_cannot_be_back_dated(standard, people):
    Acknowledgement.objects.bulk_create(
        [
            Acknowledgement(
                user=people["staff"],
                revision=standard,
                content_sha256=standard.content_sha256,
                acknowledged_at=LONG_AGO,
            )
        ]
    )
    ack = Acknowledgement.objects.get(user=people["staff"], revision=standard)
    assert ack.acknowledged_at == database_now()


def test_acknowledging_records_the_database_time(standard, people):
    ack, _ = acks.acknowledge(people["staff"], standard)
    assert ack.acknowledged_at == database_now()
    assert Acknowledgement.objects.get(pk=ack.pk).acknowledged_at == ack.acknowledged_at


# --- the acknowledgement's hash ---------------------------------------------------------


@postgresql_only
def test_an_acknowledgement_with_another_hash_is_refused_by_the_database(standard, people):
    refused(
        "INSERT INTO acknowledgements_acknowledgement (user_id, revision_id, content_sha256, "
        "acknowledged_at, user_agent) VALUES (%s, %s, %s, now(), '')",
        [people["staff"].pk, standard.pk, "a" * 64],
    )
    assert not Acknowledgement.objects.filter(user=people["staff"]).exists()


@postgresql_only
def test_an_acknowledgement_of_a_superseded_revision_is_refused_by_the_database(superseded, people):
    refused(
        "INSERT INTO acknowledgements_acknowledgement (user_id, revision_id, content_sha256, "
        "acknowledged_at, user_agent) VALUES (%s, %s, %s, now(), '')",
        [people["staff"].pk, superseded.pk, superseded.content_sha256],
    )


def test_an_acknowledgement_with_another_hash_is_refused_by_the_model(standard, people):
    with pytest.raises(ImmutableRecordError):
        Acknowledgement.objects.create(
            user=people["staff"], revision=standard, content_sha256="a" * 64
        )
    assert not Acknowledgement.objects.filter(user=people["staff"]).exists()


# --- classifications change only with their history -------------------------------------


@pytest.fixture
def confidential(make_asset):
    return make_asset("joho", c="2", name="庁内グループウェア")


def test_a_bulk_update_of_a_classification_is_refused(confidential, catalogue):
    public = catalogue["levels"][("confidentiality", "1")]
    for change in (
        {"confidentiality": public},
        {"confidentiality_id": public.pk},
        {"confidentiality_rank": 1},
        {"integrity": catalogue["levels"][("integrity", "2")]},
    ):
        with pytest.raises(ImmutableRecordError):
            Asset.objects.filter(pk=confidential.pk).update(**change)
    confidential.refresh_from_db()
    assert confidential.confidentiality_rank == 2


def test_saving_a_new_classification_without_the_service_is_refused(confidential, catalogue):
    asset = Asset.objects.get(pk=confidential.pk)
    asset.confidentiality = catalogue["levels"][("confidentiality", "1")]
    with pytest.raises(ImmutableRecordError):
        asset.save()
    assert Asset.objects.get(pk=confidential.pk).confidentiality_rank == 2


@postgresql_only
def test_raw_sql_cannot_change_a_classification_without_a_history_entry(
    confidential, catalogue, people
):
    public = catalogue["levels"][("confidentiality", "1")]
    refused("UPDATE assets_asset SET confidentiality_rank = 1 WHERE id = %s", [confidential.pk])
    refused(
        "UPDATE assets_asset SET confidentiality_id = %s, confidentiality_rank = 1 WHERE id = %s",
        [public.pk, confidential.pk],
    )
    # A history entry that names another level does not count either.
    AssetChange.objects.create(
        asset=confidential,
        kind=ChangeKind.CLASSIFIED,
        changed_by=people["chief"],
        changes={"confidentiality": ["機密性2", "機密性3"]},
        reason="偽装",
    )
    refused(
        "UPDATE assets_asset SET confidentiality_id = %s, confidentiality_rank = 1 WHERE id = %s",
        [public.pk, confidential.pk],
    )
    confidential.refresh_from_db()
    assert confidential.confidentiality_rank == 2


def test_the_service_changes_a_classification_and_writes_its_history(
    confidential, catalogue, people
):
    public = catalogue["levels"][("confidentiality", "1")]
    asset, change = asset_services.update_asset(
        confidential, by=people["chief"], reason="公開情報になった", confidentiality=public
    )
    assert Asset.objects.get(pk=asset.pk).confidentiality_rank == 1
    assert change.kind == ChangeKind.CLASSIFIED
    assert change.changes["confidentiality"][1] == public.name
    assert change.changed_at == database_now()


@postgresql_only
def test_an_asset_cannot_be_inserted_with_a_rank_that_is_not_its_levels(
    confidential, catalogue, org
):
    level = catalogue["levels"][("confidentiality", "3")]
    refused(
        "INSERT INTO assets_asset (name, kind, description, section_id, location, tier_id, "
        "has_personal_data, has_my_number, external_service, contract_reference, "
        "confidentiality_id, integrity_id, availability_id, confidentiality_rank, status, "
        "created_at, updated_at) SELECT 'x', kind, '', section_id, '', tier_id, false, false, "
        "'', '', %s, integrity_id, availability_id, 1, status, now(), now() "
        "FROM assets_asset WHERE id = %s",
        [level.pk, confidential.pk],
    )


# --- no session setting switches a guard off -------------------------------------------


@postgresql_only
def test_pgtriggers_ignore_setting_does_not_switch_the_guards_off(people, standard):
    event = audit.record("role.assigned", actor=people["admin"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(tgname::text) FROM pg_trigger "
            "WHERE tgrelid IN ('isms_auditevent'::regclass, 'isms_policyrevision'::regclass)"
        )
        names = cursor.fetchone()[0]
    assert names
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + ",".join(names) + "}"]
        )
        cursor.execute("UPDATE isms_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + ",".join(names) + "}"]
        )
        cursor.execute("UPDATE isms_policyrevision SET body = 'x' WHERE id = %s", [standard.pk])


def test_superseding_through_the_workflow_still_works(documents, people):
    old = documents["standard"].current_revision()
    publish(documents["standard"], author=people["admin"], approver=people["ciso"], body="第2版")
    old = PolicyRevision.objects.get(pk=old.pk)
    assert old.status == RevisionStatus.SUPERSEDED
    assert old.superseded_at is not None
    assert policy_actions.activate_due_revisions() == 0
