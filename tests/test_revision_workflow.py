import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.utils import InternalError
from django.utils import timezone

from isms import policy_actions
from isms.exceptions import ImmutableRecordError, WorkflowError
from isms.models import AuditEvent, PolicyRevision, RevisionStatus

from .conftest import publish


@pytest.fixture
def draft(documents, people):
    return policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n改定案",
        effective_date=timezone.localdate() + datetime.timedelta(days=7),
    )


def test_a_draft_starts_from_the_text_in_force(documents, people):
    revision = policy_actions.create_draft(documents["standard"], by=people["admin"])
    assert revision.status == RevisionStatus.DRAFT
    assert revision.body == documents["standard"].current_revision().body
    assert revision.number == 2


def test_the_author_cannot_approve_their_own_revision(draft, people):
    policy_actions.submit_for_review(draft, by=people["admin"])
    with pytest.raises(PermissionDenied):
        policy_actions.approve(draft, by=people["admin"])
    approved = policy_actions.approve(draft, by=people["ciso"])
    assert approved.status == RevisionStatus.APPROVED
    assert approved.approved_by == people["ciso"]


@pytest.mark.parametrize("role", ["staff", "chief", "head", "auditor"])
def test_people_outside_the_cisos_office_cannot_draft(documents, people, role):
    with pytest.raises(PermissionDenied):
        policy_actions.create_draft(documents["standard"], by=people[role])


def test_only_the_programme_admin_publishes(draft, people):
    policy_actions.submit_for_review(draft, by=people["admin"])
    policy_actions.approve(draft, by=people["ciso"])
    with pytest.raises(PermissionDenied):
        policy_actions.publish(draft, by=people["ciso"])
    published = policy_actions.publish(draft, by=people["admin"])
    assert published.status == RevisionStatus.PUBLISHED
    assert published.content_sha256 == published.compute_sha256()
    assert len(published.content_sha256) == 64


def test_a_draft_cannot_skip_review(draft, people):
    with pytest.raises(WorkflowError):
        policy_actions.approve(draft, by=people["ciso"])
    with pytest.raises(WorkflowError):
        policy_actions.publish(draft, by=people["admin"])


def test_submitting_needs_an_effective_date(documents, people):
    revision = policy_actions.create_draft(documents["standard"], by=people["admin"])
    with pytest.raises(WorkflowError) as error:
        policy_actions.submit_for_review(revision, by=people["admin"])
    assert "effective_date" in error.value.message_dict


def test_returning_a_revision_needs_a_reason_and_makes_it_a_draft_again(draft, people):
    policy_actions.submit_for_review(draft, by=people["admin"])
    with pytest.raises(WorkflowError):
        policy_actions.return_to_draft(draft, by=people["ciso"], reason=" ")
    returned = policy_actions.return_to_draft(draft, by=people["ciso"], reason="表現を修正")
    assert returned.status == RevisionStatus.DRAFT
    assert AuditEvent.objects.filter(action="revision.returned", data__reason="表現を修正").exists()


def test_every_transition_is_in_the_audit_trail(draft, people):
    policy_actions.submit_for_review(draft, by=people["admin"])
    policy_actions.approve(draft, by=people["ciso"])
    policy_actions.publish(draft, by=people["admin"])
    actions = list(
        AuditEvent.objects.filter(target_type="isms.policyrevision", target_id=str(draft.pk))
        .order_by("id")
        .values_list("action", "actor_name")
    )
    assert actions == [
        ("revision.drafted", "admin"),
        ("revision.submitted", "admin"),
        ("revision.approved", "ciso"),
        ("revision.published", "admin"),
    ]


def test_a_revision_effective_today_supersedes_the_one_in_force(documents, people):
    standard = documents["standard"]
    old = standard.current_revision()
    new = publish(standard, author=people["admin"], approver=people["ciso"], body="新しい本文")
    old.refresh_from_db()
    assert old.status == RevisionStatus.SUPERSEDED
    assert standard.current_revision() == new


def test_a_future_revision_becomes_current_only_on_its_effective_date(documents, people):
    standard = documents["standard"]
    old = standard.current_revision()
    in_a_week = timezone.localdate() + datetime.timedelta(days=7)
    new = publish(
        standard,
        author=people["admin"],
        approver=people["ciso"],
        body="来週から",
        effective_date=in_a_week,
    )
    assert standard.current_revision() == old
    assert policy_actions.activate_due_revisions() == 0
    assert policy_actions.activate_due_revisions(today=in_a_week) == 1
    assert standard.current_revision(today=in_a_week) == new
    old.refresh_from_db()
    assert old.status == RevisionStatus.SUPERSEDED
    # Running it again finds nothing left to do.
    assert policy_actions.activate_due_revisions(today=in_a_week) == 0


class TestPublishedRevisionsAreImmutable:
    def test_saving_a_changed_published_revision_is_refused(self, documents):
        revision = documents["standard"].current_revision()
        revision.body = "書き換え"
        with pytest.raises(ImmutableRecordError):
            revision.save()

    def test_deleting_a_published_revision_is_refused(self, documents):
        revision = documents["standard"].current_revision()
        with pytest.raises(ImmutableRecordError):
            revision.delete()
        with pytest.raises(ImmutableRecordError):
            PolicyRevision.objects.filter(pk=revision.pk).delete()

    def test_a_bulk_update_of_published_text_is_refused(self, documents):
        with pytest.raises(ImmutableRecordError):
            PolicyRevision.objects.filter(document=documents["standard"]).update(body="x")

    def test_a_published_revision_cannot_go_back_to_draft(self, documents):
        revision = documents["standard"].current_revision()
        revision.status = RevisionStatus.DRAFT
        with pytest.raises(ImmutableRecordError):
            revision.save()

    def test_editing_a_published_revision_through_the_workflow_is_refused(self, documents, people):
        revision = documents["standard"].current_revision()
        with pytest.raises(WorkflowError):
            policy_actions.update_draft(revision, by=people["admin"], body="x")

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
    def test_the_database_refuses_raw_sql_changes_too(self, documents):
        revision = documents["standard"].current_revision()
        with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE isms_policyrevision SET body = 'x' WHERE id = %s", [revision.pk])
        with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM isms_policyrevision WHERE id = %s", [revision.pk])
