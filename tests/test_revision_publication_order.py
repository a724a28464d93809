"""A revision older than the one published cannot be published after it, and a campaign
opens only for a revision in force or about to be (issue 8, "Workflow edge")."""

import datetime

import pytest
from django.utils import timezone

from acknowledgements.models import AcknowledgementCampaign
from isms import policy_actions
from isms.exceptions import WorkflowError
from isms.models import RevisionStatus

from .conftest import publish


def approved_draft(document, people, body, effective_date=None):
    revision = policy_actions.create_draft(
        document,
        by=people["admin"],
        body=body,
        effective_date=effective_date or timezone.localdate(),
        is_material=True,
    )
    policy_actions.submit_for_review(revision, by=people["admin"])
    return policy_actions.approve(revision, by=people["ciso"])


def test_an_older_draft_cannot_be_published_after_a_newer_revision(documents, people):
    standard = documents["standard"]
    older = approved_draft(standard, people, "古い改定案")
    newer = publish(standard, author=people["admin"], approver=people["ciso"], body="新しい改定")
    assert newer.number > older.number

    with pytest.raises(WorkflowError) as refusal:
        policy_actions.publish(older, by=people["admin"])
    assert f"第{newer.number}版は公開済み" in str(refusal.value)
    older.refresh_from_db()
    assert older.status == RevisionStatus.APPROVED
    assert standard.current_revision() == newer
    assert not AcknowledgementCampaign.objects.filter(revision=older).exists()


def test_the_publish_page_says_why_and_publishes_nothing(documents, people, as_role):
    standard = documents["standard"]
    older = approved_draft(standard, people, "古い改定案")
    publish(standard, author=people["admin"], approver=people["ciso"], body="新しい改定")
    response = as_role("admin").post(
        f"/manage/revisions/{older.pk}/publish/", {"confirmed": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert "公開済みです" in response.content.decode()
    older.refresh_from_db()
    assert older.status == RevisionStatus.APPROVED


def test_the_api_refuses_it_with_a_reason(documents, people):
    from rest_framework.test import APIClient

    standard = documents["standard"]
    older = approved_draft(standard, people, "古い改定案")
    publish(standard, author=people["admin"], approver=people["ciso"], body="新しい改定")
    api = APIClient()
    api.force_authenticate(people["admin"])
    response = api.post(f"/api/revisions/{older.pk}/publish/", {}, format="json")
    assert response.status_code == 400
    assert "number" in response.json()


def test_a_revision_cannot_come_into_force_before_one_already_scheduled(documents, people):
    standard = documents["standard"]
    next_month = timezone.localdate() + datetime.timedelta(days=30)
    publish(
        standard,
        author=people["admin"],
        approver=people["ciso"],
        body="来月から",
        effective_date=next_month,
    )
    # Refused as soon as it is submitted for review, and so never published.
    with pytest.raises(WorkflowError, match="施行予定で公開済み"):
        approved_draft(standard, people, "来週から", timezone.localdate())


def test_no_campaign_opens_for_a_revision_superseded_at_once(documents, people):
    """Had the workflow let it through, the receiver would still not open a campaign."""
    from acknowledgements.services import open_campaign_on_publication

    old = documents["standard"].current_revision()
    publish(documents["standard"], author=people["admin"], approver=people["ciso"], body="第2版")
    old.refresh_from_db()
    AcknowledgementCampaign.objects.filter(revision=old).delete()
    assert open_campaign_on_publication(None, revision=old, by=people["admin"]) is None
    assert not AcknowledgementCampaign.objects.filter(revision=old).exists()


def test_a_campaign_opens_for_the_revision_in_force_and_for_one_scheduled(documents, people):
    standard = documents["standard"]
    now = publish(standard, author=people["admin"], approver=people["ciso"], body="今日から")
    assert AcknowledgementCampaign.objects.filter(revision=now).exists()
    later = publish(
        standard,
        author=people["admin"],
        approver=people["ciso"],
        body="来月から",
        effective_date=timezone.localdate() + datetime.timedelta(days=30),
    )
    assert AcknowledgementCampaign.objects.filter(revision=later).exists()
    assert later.is_in_force_or_next() and now.is_in_force_or_next()
