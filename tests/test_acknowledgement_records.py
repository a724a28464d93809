import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.utils import InternalError
from django.utils import timezone

from acknowledgements import services as acks
from acknowledgements.models import Acknowledgement, AcknowledgementCampaign
from isms.models import AuditEvent
from isms.models.policy import ImmutableRecordError
from isms.policy_actions import WorkflowError

from .conftest import publish


def test_publishing_a_material_change_opens_a_campaign_with_the_default_deadline(documents):
    campaign = AcknowledgementCampaign.objects.get(revision__document=documents["standard"])
    assert campaign.deadline == timezone.localdate() + datetime.timedelta(days=30)


def test_an_editorial_change_asks_nobody_to_acknowledge(documents, people):
    revision = publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="字句の修正",
        material=False,
    )
    assert not AcknowledgementCampaign.objects.filter(revision=revision).exists()


def test_the_deadline_given_at_publication_is_kept(documents, people):
    deadline = timezone.localdate() + datetime.timedelta(days=10)
    revision = publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="期限つき",
        deadline=deadline,
    )
    assert revision.campaign.deadline == deadline


def test_an_acknowledgement_keeps_the_exact_revision_and_its_fingerprint(documents, people, rf):
    revision = documents["standard"].current_revision()
    request = rf.post("/", REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="TestBrowser/1.0")
    ack, created = acks.acknowledge(people["staff"], revision, request=request)
    assert created
    assert ack.revision == revision
    assert ack.content_sha256 == revision.content_sha256
    assert ack.ip_address == "10.1.2.3"
    assert ack.user_agent == "TestBrowser/1.0"
    assert AuditEvent.objects.filter(action="revision.acknowledged", actor=people["staff"]).exists()


def test_acknowledging_twice_returns_the_first_record(documents, people):
    revision = documents["standard"].current_revision()
    first, _ = acks.acknowledge(people["staff"], revision)
    second, created = acks.acknowledge(people["staff"], revision)
    assert not created
    assert second == first
    assert Acknowledgement.objects.filter(user=people["staff"]).count() == 1


def test_a_superseded_revision_cannot_be_acknowledged(documents, people):
    old = documents["standard"].current_revision()
    publish(documents["standard"], author=people["admin"], approver=people["ciso"], body="新版")
    old.refresh_from_db()
    with pytest.raises(WorkflowError):
        acks.acknowledge(people["staff"], old)


def test_a_revision_outside_the_persons_audience_cannot_be_acknowledged(documents, people):
    # A document the person may not read is no such revision to them, not a refusal that
    # would tell them it exists.
    with pytest.raises(acks.NoSuchRevision):
        acks.acknowledge(people["other_staff"], documents["procedure"].current_revision())


def test_a_revision_the_person_reads_but_is_not_asked_for_is_refused(documents, people):
    with pytest.raises(PermissionDenied):
        acks.acknowledge(people["auditor"], documents["procedure"].current_revision())


def test_the_pending_list_shows_what_concerns_the_person(documents, people):
    def pending(role):
        return {c.revision.document.code for c in acks.pending_campaigns(people[role])}

    assert pending("staff") == {"standard", "procedure"}
    assert pending("other_staff") == {"standard"}
    acks.acknowledge(people["staff"], documents["standard"].current_revision())
    assert pending("staff") == {"procedure"}


def test_acknowledgements_cannot_be_changed_or_deleted(documents, people):
    ack, _ = acks.acknowledge(people["staff"], documents["standard"].current_revision())
    with pytest.raises(ImmutableRecordError):
        ack.save()
    with pytest.raises(ImmutableRecordError):
        ack.delete()
    with pytest.raises(ImmutableRecordError):
        Acknowledgement.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_rewrite_an_acknowledgement(documents, people):
    ack, _ = acks.acknowledge(people["staff"], documents["standard"].current_revision())
    with pytest.raises(InternalError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE acknowledgements_acknowledgement SET acknowledged_at = now() WHERE id = %s",
            [ack.pk],
        )


@pytest.mark.django_db(transaction=True)
def test_two_racing_requests_leave_one_acknowledgement(documents, people):
    revision = documents["standard"].current_revision()
    user = people["staff"]
    barrier = threading.Barrier(4)
    results, errors = [], []

    def press():
        try:
            barrier.wait()
            results.append(acks.acknowledge(user, revision))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Acknowledgement.objects.filter(user=user, revision=revision).count() == 1
    assert len({ack.pk for ack, _ in results}) == 1
    assert sum(created for _, created in results) == 1
