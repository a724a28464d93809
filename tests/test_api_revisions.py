"""Drafting, reviewing and publishing policy revisions through the API."""

import datetime

import pytest
from django.utils import timezone

from acknowledgements.models import AcknowledgementCampaign
from isms import policy_actions
from isms.models import AuditEvent, PolicyRevision, RevisionStatus

NEXT_WEEK = timezone.localdate() + datetime.timedelta(days=7)


@pytest.fixture
def draft(documents, people):
    """A draft of the next standard, written by the programme admin."""
    return policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n職員向けの基準\n\n追加の条文",
        effective_date=NEXT_WEEK,
    )


@pytest.fixture
def in_review(draft, people):
    return policy_actions.submit_for_review(draft, by=people["admin"])


@pytest.fixture
def approved(in_review, people):
    return policy_actions.approve(in_review, by=people["ciso"])


def url(revision, action=""):
    return f"/api/revisions/{revision.pk}/" + (f"{action}/" if action else "")


def status_of(revision):
    return PolicyRevision.objects.get(pk=revision.pk).status


def new_revision(documents, **extra):
    return {
        "document": documents["standard"].pk,
        "title": "対策基準",
        "body": "## 第1章\n\nAPIで書いた改定案",
        "effective_date": NEXT_WEEK.isoformat(),
        "change_summary": "第1章を改める",
        **extra,
    }


# Creating


@pytest.mark.parametrize("role", ["admin", "ciso"])
def test_the_cisos_office_creates_a_draft(api_as, documents, people, role):
    response = api_as(role).post("/api/revisions/", new_revision(documents), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "draft"
    assert data["number"] == 2
    assert data["author"] == people[role].username
    assert data["effective_date"] == NEXT_WEEK.isoformat()
    revision = PolicyRevision.objects.get(pk=data["id"])
    assert revision.body == "## 第1章\n\nAPIで書いた改定案"
    assert revision.author == people[role]
    assert AuditEvent.objects.filter(
        action="revision.drafted", target_id=str(revision.pk), actor=people[role]
    ).exists()


@pytest.mark.parametrize("role", ["staff", "chief", "head", "other_head", "auditor"])
def test_nobody_outside_the_cisos_office_creates_a_draft(api_as, documents, role):
    before = PolicyRevision.objects.count()
    response = api_as(role).post("/api/revisions/", new_revision(documents), format="json")
    assert response.status_code == 403
    assert response.json()["detail"]
    assert PolicyRevision.objects.count() == before


def test_anonymous_callers_cannot_create_a_draft(api_as, documents):
    before = PolicyRevision.objects.count()
    response = api_as("anonymous").post("/api/revisions/", new_revision(documents), format="json")
    assert response.status_code in (401, 403)
    assert PolicyRevision.objects.count() == before


def test_the_state_of_a_new_revision_cannot_be_chosen_by_the_caller(api_as, documents):
    payload = new_revision(documents, status="published", content_sha256="f" * 64, number=99)
    data = api_as("admin").post("/api/revisions/", payload, format="json").json()
    assert (data["status"], data["number"], data["content_sha256"]) == ("draft", 2, "")


def test_a_new_draft_without_title_or_body_starts_from_the_text_in_force(api_as, documents):
    payload = {"document": documents["standard"].pk, "effective_date": "2030-04-01"}
    response = api_as("admin").post("/api/revisions/", payload, format="json")
    assert response.status_code == 201
    in_force = documents["standard"].current_revision()
    assert (response.json()["title"], response.json()["body"]) == (in_force.title, in_force.body)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"effective_date": "2025-02-30"}, "effective_date"),
        ({"effective_date": "来週"}, "effective_date"),
        ({"body": ""}, "body"),
        ({"document": 999999}, "document"),
        ({"document": "standard"}, "document"),
        ({"is_material": "perhaps"}, "is_material"),
        ({"title": "x" * 201}, "title"),
    ],
)
def test_bad_input_to_create_is_a_400_naming_the_field(api_as, documents, change, field):
    payload = {k: v for k, v in new_revision(documents, **change).items() if v is not None}
    response = api_as("admin").post("/api/revisions/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert PolicyRevision.objects.filter(status=RevisionStatus.DRAFT).count() == 0


def test_a_body_that_is_not_an_object_is_a_400(api_as, documents):
    response = api_as("admin").post("/api/revisions/", [1, 2, 3], format="json")
    assert response.status_code == 400


def test_malformed_json_is_a_400(api_as, documents):
    response = api_as("admin").generic(
        "POST", "/api/revisions/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


# Editing


def test_patching_a_draft_changes_it(api_as, draft, people):
    response = api_as("ciso").patch(
        url(draft), {"body": "## 第1章\n\n書き直し", "is_material": False}, format="json"
    )
    assert response.status_code == 200, response.content
    draft.refresh_from_db()
    assert draft.body == "## 第1章\n\n書き直し"
    assert draft.is_material is False
    event = AuditEvent.objects.get(action="revision.edited", target_id=str(draft.pk))
    assert event.actor == people["ciso"]
    assert sorted(event.data["fields"]) == ["body", "is_material"]


def test_patching_cannot_move_a_draft_to_another_document_or_state(api_as, draft, documents):
    response = api_as("admin").patch(
        url(draft),
        {"document": documents["basic"].pk, "status": "published", "title": "新題"},
        format="json",
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.document == documents["standard"]
    assert draft.status == RevisionStatus.DRAFT
    assert draft.title == "新題"


def test_patching_a_published_revision_is_a_400_with_a_reason(api_as, documents):
    published = documents["standard"].current_revision()
    response = api_as("admin").patch(url(published), {"body": "改ざん"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]
    published.refresh_from_db()
    assert published.body == "## 第1章\n\n職員向けの基準"


def test_patching_a_revision_in_review_is_a_400(api_as, in_review):
    response = api_as("admin").patch(url(in_review), {"body": "審査中の変更"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_patching_with_an_invalid_date_is_a_400(api_as, draft):
    response = api_as("admin").patch(url(draft), {"effective_date": "2025-13-01"}, format="json")
    assert response.status_code == 400
    assert "effective_date" in response.json()
    draft.refresh_from_db()
    assert draft.effective_date == NEXT_WEEK


@pytest.mark.parametrize("role", ["staff", "chief", "head", "auditor"])
def test_only_the_cisos_office_patches_a_draft(api_as, draft, role):
    response = api_as(role).patch(url(draft), {"body": "勝手な変更"}, format="json")
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.body != "勝手な変更"


def test_anonymous_callers_cannot_patch_a_draft(api_as, draft):
    assert api_as("anonymous").patch(url(draft), {"body": "x"}, format="json").status_code in (
        401,
        403,
    )


# Submitting, approving, returning, publishing


def test_submitting_a_draft_puts_it_in_review(api_as, draft):
    response = api_as("admin").post(url(draft, "submit"))
    assert response.status_code == 200
    assert response.json()["status"] == "in_review"
    assert response.json()["submitted_at"]
    assert status_of(draft) == RevisionStatus.IN_REVIEW


def test_submitting_without_an_effective_date_is_a_400_naming_the_field(api_as, documents, people):
    revision = policy_actions.create_draft(documents["standard"], by=people["admin"])
    response = api_as("admin").post(url(revision, "submit"))
    assert response.status_code == 400
    assert "effective_date" in response.json()
    assert status_of(revision) == RevisionStatus.DRAFT


def test_submitting_an_effective_date_before_the_one_in_force_is_a_400(api_as, draft):
    api_as("admin").patch(url(draft), {"effective_date": "2000-01-01"}, format="json")
    response = api_as("admin").post(url(draft, "submit"))
    assert response.status_code == 400
    assert "effective_date" in response.json()


def test_submitting_twice_is_a_400_with_a_reason(api_as, in_review):
    response = api_as("admin").post(url(in_review, "submit"))
    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.parametrize("action", ["submit", "approve", "return", "publish"])
@pytest.mark.parametrize("role", ["staff", "head", "auditor"])
def test_people_outside_the_cisos_office_cannot_move_a_revision(api_as, in_review, role, action):
    response = api_as(role).post(url(in_review, action), {"reason": "理由"}, format="json")
    assert response.status_code == 403
    assert status_of(in_review) == RevisionStatus.IN_REVIEW


@pytest.mark.parametrize("action", ["submit", "approve", "return", "publish"])
def test_anonymous_callers_cannot_move_a_revision(api_as, in_review, action):
    response = api_as("anonymous").post(url(in_review, action), {"reason": "理由"})
    assert response.status_code in (401, 403)
    assert status_of(in_review) == RevisionStatus.IN_REVIEW


@pytest.mark.parametrize(
    ("action", "payload"),
    [("return", {}), ("return", {"reason": None}), ("publish", {"deadline": "x"})],
)
@pytest.mark.parametrize("role", ["staff", "auditor", "anonymous"])
def test_outsiders_are_refused_before_their_input_is_checked(
    api_as, approved, role, action, payload
):
    response = api_as(role).post(url(approved, action), payload, format="json")
    assert response.status_code in ((401, 403) if role == "anonymous" else (403,))
    assert status_of(approved) == RevisionStatus.APPROVED


def test_the_author_cannot_approve_their_own_revision(api_as, in_review):
    response = api_as("admin").post(url(in_review, "approve"))
    assert response.status_code == 403
    assert response.json()["detail"]
    assert status_of(in_review) == RevisionStatus.IN_REVIEW


def test_another_member_of_the_cisos_office_approves(api_as, in_review, people):
    response = api_as("ciso").post(url(in_review, "approve"))
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["approved_by"] == "ciso"
    in_review.refresh_from_db()
    assert in_review.approved_by == people["ciso"]


def test_approving_a_draft_that_skipped_review_is_a_400(api_as, draft):
    response = api_as("ciso").post(url(draft, "approve"))
    assert response.status_code == 400
    assert response.json()["detail"]
    assert status_of(draft) == RevisionStatus.DRAFT


def test_returning_a_revision_needs_a_reason(api_as, in_review):
    for payload in ({}, {"reason": ""}, {"reason": "   "}):
        response = api_as("ciso").post(url(in_review, "return"), payload, format="json")
        assert response.status_code == 400
        assert "reason" in response.json()
    assert status_of(in_review) == RevisionStatus.IN_REVIEW


def test_returning_an_approved_revision_makes_it_a_draft_again(api_as, approved):
    response = api_as("ciso").post(url(approved, "return"), {"reason": "表現を修正"})
    assert response.status_code == 200
    assert response.json()["status"] == "draft"
    assert response.json()["approved_by"] is None
    assert AuditEvent.objects.filter(
        action="revision.returned", target_id=str(approved.pk), data__reason="表現を修正"
    ).exists()


def test_returning_a_draft_is_a_400_with_a_reason(api_as, draft):
    response = api_as("ciso").post(url(draft, "return"), {"reason": "理由"})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_the_ciso_cannot_publish(api_as, approved):
    response = api_as("ciso").post(url(approved, "publish"))
    assert response.status_code == 403
    assert status_of(approved) == RevisionStatus.APPROVED


def test_the_programme_admin_publishes_and_opens_a_campaign(api_as, approved, documents):
    deadline = timezone.localdate() + datetime.timedelta(days=14)
    response = api_as("admin").post(
        url(approved, "publish"), {"deadline": deadline.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "published"
    assert data["published_by"] == "admin"
    approved.refresh_from_db()
    assert data["content_sha256"] == approved.compute_sha256()
    assert AcknowledgementCampaign.objects.get(revision=approved).deadline == deadline


def test_publishing_a_revision_in_review_is_a_400_with_a_reason(api_as, in_review):
    response = api_as("admin").post(url(in_review, "publish"))
    assert response.status_code == 400
    assert response.json()["detail"]
    assert status_of(in_review) == RevisionStatus.IN_REVIEW


def test_publishing_twice_is_a_400(api_as, documents):
    published = documents["standard"].current_revision()
    response = api_as("admin").post(url(published, "publish"))
    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.parametrize("deadline", ["2000-01-01", "明日", "2025-02-30", 12])
def test_publishing_with_a_bad_deadline_is_a_400(api_as, approved, deadline):
    response = api_as("admin").post(url(approved, "publish"), {"deadline": deadline}, format="json")
    assert response.status_code == 400
    assert "deadline" in response.json()
    assert status_of(approved) == RevisionStatus.APPROVED
    assert not AcknowledgementCampaign.objects.filter(revision=approved).exists()


def test_acting_on_a_revision_that_does_not_exist_is_a_404(api_as, db, people):
    assert api_as("admin").post("/api/revisions/999999/submit/").status_code == 404
    assert api_as("admin").patch("/api/revisions/999999/", {"body": "x"}).status_code == 404


def test_revisions_cannot_be_deleted_through_the_api(api_as, draft):
    response = api_as("admin").delete(url(draft))
    assert response.status_code == 405
    assert PolicyRevision.objects.filter(pk=draft.pk).exists()


# Comparing


def test_diff_against_the_previous_revision_is_a_unified_diff(api_as, draft, documents):
    previous = documents["standard"].current_revision()
    response = api_as("admin").get(url(draft, "diff"), {"against": previous.pk})
    assert response.status_code == 200
    data = response.json()
    assert (data["old"], data["new"]) == (previous.pk, draft.pk)
    lines = data["unified_diff"].splitlines()
    assert lines[:2] == ["--- revision 1", "+++ revision 2"]
    assert "+追加の条文" in lines
    assert not any(line.startswith("-") and not line.startswith("---") for line in lines)


def test_diff_orders_the_revisions_whichever_way_it_is_asked(api_as, draft, documents):
    previous = documents["standard"].current_revision()
    data = api_as("admin").get(url(previous, "diff"), {"against": draft.pk}).json()
    assert (data["old"], data["new"]) == (previous.pk, draft.pk)


@pytest.mark.parametrize("against", ["", "abc", "1.5", "1; drop table"])
def test_diff_without_a_usable_against_is_a_400(api_as, documents, against):
    revision = documents["standard"].current_revision()
    response = api_as("staff").get(url(revision, "diff"), {"against": against})
    assert response.status_code == 400
    assert "against" in response.json()


def test_diff_with_no_against_at_all_is_a_400(api_as, documents):
    revision = documents["standard"].current_revision()
    response = api_as("staff").get(url(revision, "diff"))
    assert response.status_code == 400
    assert "against" in response.json()


def test_diff_against_a_revision_of_another_document_is_a_404(api_as, documents):
    standard = documents["standard"].current_revision()
    basic = documents["basic"].current_revision()
    response = api_as("admin").get(url(standard, "diff"), {"against": basic.pk})
    assert response.status_code == 404


def test_staff_cannot_diff_against_a_draft(api_as, draft, documents):
    previous = documents["standard"].current_revision()
    response = api_as("staff").get(url(previous, "diff"), {"against": draft.pk})
    assert response.status_code == 404
    assert "追加の条文" not in response.content.decode()


def test_staff_outside_somu_cannot_diff_the_somu_procedure(api_as, documents):
    revision = documents["procedure"].current_revision()
    response = api_as("other_staff").get(url(revision, "diff"), {"against": revision.pk})
    assert response.status_code == 404
