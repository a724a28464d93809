"""Publishing a revision cannot be undone (issue 12): the publish button leads to a page that
says what will happen — to whom, from when, that it can never be changed, which deadline
the acknowledgement campaign opens with — and only confirming there publishes.

The other workflow steps (submit, approve, return) can all be undone by returning the
revision to draft, so they stay one click (tests/test_manage_pages.py)."""

import datetime

import pytest
from django.utils import timezone

from acknowledgements.models import AcknowledgementCampaign
from isms import policy_actions
from isms.eras import to_era
from isms.models import AuditEvent, PolicyRevision, RevisionStatus

from .conftest import ROLES
from .pages import is_login_redirect, messages, page
from .test_two_step_verification import age_second_factor, verified


def approved_revision(document, people, *, material=True, days=0):
    revision = policy_actions.create_draft(
        document,
        by=people["admin"],
        body="## 第1章\n\n改定後の本文",
        change_summary="改定",
        effective_date=timezone.localdate() + datetime.timedelta(days=days),
        is_material=material,
    )
    policy_actions.submit_for_review(revision, by=people["admin"])
    return policy_actions.approve(revision, by=people["ciso"])


@pytest.fixture
def approved(documents, people):
    """An approved revision of the 総務部 procedure, taking effect in ten days."""
    return approved_revision(documents["procedure"], people, days=10)


def url(revision):
    return f"/manage/revisions/{revision.pk}/publish/"


def consequences(response):
    return [li.text for li in page(response).find(testid="confirmation").find_all("li")]


def published_events(revision):
    return AuditEvent.objects.filter(action="revision.published", target_id=str(revision.pk))


def test_the_publish_button_leads_to_a_page_saying_what_will_happen(as_role, approved, people):
    deadline = timezone.localdate() + datetime.timedelta(days=20)

    response = as_role("admin").get(url(approved), {"deadline": deadline.isoformat()})

    assert response.status_code == 200
    assert "第2版" in page(response).find("h1").text
    said = consequences(response)
    # 総務部 (its two sections: chief, staff, staff_somuka, head_somu, admin... all active).
    audience = approved.document.audience_members().count()
    assert said[0] == f"総務部の職員{audience}人に公開されます。"
    assert to_era(approved.effective_date) in said[1]
    assert "変更も取消しもできません" in said[2]
    assert to_era(deadline) in said[3]
    # Nothing happened yet.
    approved.refresh_from_db()
    assert approved.status == RevisionStatus.APPROVED
    assert not published_events(approved).exists()
    assert not AcknowledgementCampaign.objects.filter(revision=approved).exists()


def test_the_confirmation_form_posts_the_deadline_again_with_confirmed_yes(as_role, approved):
    deadline = timezone.localdate() + datetime.timedelta(days=20)

    response = as_role("admin").post(url(approved), {"deadline": deadline.isoformat()})

    form = page(response).find(testid="confirmation").find("form")
    assert form.attrs["action"] == url(approved)
    hidden = {i.attrs["name"]: i.attrs["value"] for i in form.find_all("input", type="hidden")}
    assert hidden["deadline"] == deadline.isoformat()
    assert hidden["confirmed"] == "yes"
    cancel = page(response).find(testid="confirmation").find("a", cls="button")
    assert cancel.attrs["href"] == f"/manage/revisions/{approved.pk}/"
    approved.refresh_from_db()
    assert approved.status == RevisionStatus.APPROVED


def test_confirming_publishes_with_the_deadline_shown(as_role, approved):
    deadline = timezone.localdate() + datetime.timedelta(days=20)

    response = as_role("admin").post(
        url(approved), {"deadline": deadline.isoformat(), "confirmed": "yes"}, follow=True
    )

    assert response.redirect_chain == [(f"/manage/revisions/{approved.pk}/", 302)]
    assert [level for level, _text in messages(response)] == ["success"]
    approved.refresh_from_db()
    assert approved.status == RevisionStatus.PUBLISHED
    assert AcknowledgementCampaign.objects.get(revision=approved).deadline == deadline


def test_without_a_deadline_the_page_names_the_default_one(as_role, approved, settings):
    response = as_role("admin").get(url(approved))

    default = timezone.localdate() + datetime.timedelta(days=settings.ACKNOWLEDGEMENT_DEADLINE_DAYS)
    assert to_era(default) in consequences(response)[3]


def test_an_editorial_change_says_nobody_is_asked_to_acknowledge_it(as_role, documents, people):
    revision = approved_revision(documents["standard"], people, material=False)

    said = consequences(as_role("admin").get(url(revision)))

    assert said[0].startswith("全職員")
    assert "直ちに施行" in said[1]
    assert said[3] == "軽微な変更のため、職員への確認依頼は行いません。"


def test_the_basic_policy_says_it_is_published_for_everyone(as_role, documents, people):
    revision = approved_revision(documents["basic"], people)

    said = consequences(as_role("admin").get(url(revision)))

    assert said[0].startswith("公開ページで誰でも閲覧できる")


@pytest.mark.parametrize("role", ROLES)
def test_only_the_programme_admin_sees_the_confirmation(as_role, role, approved):
    response = as_role(role).get(url(approved))

    if role == "admin":
        assert response.status_code == 200
        assert page(response).find(testid="confirmation") is not None
    elif role == "anonymous":
        assert is_login_redirect(response, url(approved))
    else:
        assert response.status_code == 403
    approved.refresh_from_db()
    assert approved.status == RevisionStatus.APPROVED


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_nobody_else_publishes_even_when_confirming(as_role, role, approved):
    response = as_role(role).post(url(approved), {"confirmed": "yes"})

    assert response.status_code in (302, 403)
    approved.refresh_from_db()
    assert approved.status == RevisionStatus.APPROVED
    assert not published_events(approved).exists()


def test_a_deadline_in_the_past_is_a_field_error_before_the_confirmation(as_role, approved):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    response = as_role("admin").get(url(approved), {"deadline": yesterday.isoformat()})

    assert response.status_code == 200
    assert page(response).find(testid="confirmation") is None
    summary = page(response).find(testid="error-summary")
    assert "過去" in summary.text
    assert summary.find("a").attrs["href"] == "#id_deadline"
    assert page(response).find("input", name="deadline").attrs["value"] == yesterday.isoformat()


def test_a_revision_that_cannot_be_published_says_why_instead_of_confirming(
    as_role, documents, people
):
    draft = policy_actions.create_draft(documents["standard"], by=people["admin"], body="本文")

    response = as_role("admin").get(url(draft), follow=True)

    assert response.redirect_chain == [(f"/manage/revisions/{draft.pk}/", 302)]
    assert [level for level, _text in messages(response)] == ["error"]
    assert PolicyRevision.objects.get(pk=draft.pk).status == RevisionStatus.DRAFT


def test_the_confirmation_asks_for_a_recent_second_factor_first(client, people, approved, settings):
    settings.MFA_ENABLED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    verified(client, people["admin"])
    age_second_factor(client, 16)

    response = client.get(url(approved), {"deadline": ""})

    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/verify/?next=")
    assert "publish" in response["Location"]
    approved.refresh_from_db()
    assert approved.status == RevisionStatus.APPROVED


def test_the_revision_page_offers_publish_as_a_step_not_as_the_action(as_role, approved):
    response = as_role("admin").get(f"/manage/revisions/{approved.pk}/")

    form = page(response).find(testid="publish-form")
    assert form.attrs["method"] == "get"
    assert form.attrs["action"] == url(approved)
