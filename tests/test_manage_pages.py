"""The CISO's office at work: drafting, reviewing, approving and publishing revisions in the
management pages, and everyone else kept out of them."""

import datetime

import pytest
from django.utils import timezone

from acknowledgements.models import AcknowledgementCampaign
from isms import policy_actions
from isms.models import AuditEvent, PolicyRevision, RevisionStatus, Role
from isms.roles import assign_role

from .conftest import ROLES
from .factories import DocumentFactory, UserFactory
from .pages import diff_blocks, form_actions, is_login_redirect, ja, links, messages, page

MANAGERS = {"ciso", "admin"}


def events_besides_sign_ins():
    """Audit events other than the sign-ins that as_role() itself records."""
    return AuditEvent.objects.exclude(action__startswith="signin.").count()


def expect_access(response, role, path):
    """Anonymous visitors are sent to log in; people outside the CISO's office get 403."""
    if role == "anonymous":
        assert is_login_redirect(response, path)
    elif role in MANAGERS:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


def status_badge(response):
    badge = page(response).find(testid="revision-status")
    assert badge is not None
    return (badge.classes - {"badge"}).pop()


def field_errors(response):
    """{field id: [error, ...]} for the form fields the page marks as wrong."""
    errors = {}
    for field in page(response).find_all("div", cls="has-error"):
        label = field.find("label")
        errors[label.attrs["for"]] = [p.text for p in field.find_all("p", cls="error")]
    return errors


@pytest.fixture
def draft(documents, people):
    return policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n職員向けの基準\n\n第2条 改定で加える条文",
        effective_date=timezone.localdate() + datetime.timedelta(days=7),
        change_summary="第2条を追加",
    )


@pytest.fixture
def in_review(draft, people):
    return policy_actions.submit_for_review(draft, by=people["admin"])


@pytest.fixture
def approved(in_review, people):
    return policy_actions.approve(in_review, by=people["ciso"])


@pytest.fixture
def deputy(org):
    """A second programme admin, so that both ciso and admin can approve their revision."""
    user = UserFactory(username="deputy_admin", section=org["joho"])
    assign_role(user, Role.PROGRAMME_ADMIN)
    return user


# --- who may open the management pages ----------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_the_cisos_office_opens_the_management_index(as_role, documents, role):
    response = as_role(role).get("/manage/policies/")

    expect_access(response, role, "/manage/policies/")


@pytest.mark.parametrize("role", ROLES)
def test_only_the_cisos_office_opens_the_new_revision_form(as_role, documents, role):
    response = as_role(role).get("/manage/policies/standard/new/")

    expect_access(response, role, "/manage/policies/standard/new/")
    if response.status_code == 200:
        body = page(response).find("textarea", name="body")
        assert "職員向けの基準" in body.text


@pytest.mark.parametrize("role", ROLES)
def test_only_the_cisos_office_opens_a_revision_in_progress(as_role, draft, role):
    path = f"/manage/revisions/{draft.pk}/"
    response = as_role(role).get(path)

    expect_access(response, role, path)
    if response.status_code == 200:
        assert status_badge(response) == "draft"
    else:
        assert "改定で加える条文" not in response.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_only_the_cisos_office_opens_the_edit_form(as_role, draft, role):
    path = f"/manage/revisions/{draft.pk}/edit/"
    response = as_role(role).get(path)

    expect_access(response, role, path)
    if response.status_code == 200:
        assert "改定で加える条文" in page(response).find("textarea", name="body").text


@pytest.mark.parametrize("role", ROLES)
def test_only_the_cisos_office_can_post_a_new_revision(as_role, documents, role):
    path = "/manage/policies/standard/new/"
    response = as_role(role).post(
        path,
        {"title": "対策基準", "body": "## 新しい本文", "effective_date": "2030-04-01"},
    )

    drafted = PolicyRevision.objects.filter(document=documents["standard"], body="## 新しい本文")
    if role in MANAGERS:
        revision = drafted.get()
        assert response.status_code == 302
        assert response["Location"] == f"/manage/revisions/{revision.pk}/"
        assert revision.author.username == {"ciso": "ciso", "admin": "admin"}[role]
    else:
        if role == "anonymous":
            assert is_login_redirect(response, path)
        else:
            assert response.status_code == 403
        assert not drafted.exists()


@pytest.mark.parametrize("role", ROLES)
def test_only_the_cisos_office_can_post_an_edit(as_role, draft, role):
    path = f"/manage/revisions/{draft.pk}/edit/"
    response = as_role(role).post(
        path,
        {"title": draft.title, "body": "## 書き換えた本文", "effective_date": "2030-04-01"},
    )

    draft.refresh_from_db()
    if role in MANAGERS:
        assert response.status_code == 302
        assert draft.body == "## 書き換えた本文"
        assert draft.effective_date == datetime.date(2030, 4, 1)
    else:
        if role == "anonymous":
            assert is_login_redirect(response, path)
        else:
            assert response.status_code == 403
        assert "改定で加える条文" in draft.body


# --- the workflow actions, for every role -------------------------------------------------

# action -> (fixture of the revision it needs, the status it leads to, who may do it)
ACTIONS = {
    "submit": ("draft", RevisionStatus.IN_REVIEW, MANAGERS),
    "approve": ("deputy_in_review", RevisionStatus.APPROVED, MANAGERS),
    "return": ("deputy_in_review", RevisionStatus.DRAFT, MANAGERS),
    "publish": ("approved", RevisionStatus.PUBLISHED, {"admin"}),  # the CISO approves only
}


@pytest.fixture
def deputy_in_review(documents, deputy):
    """A revision in review written by neither ciso nor admin, so both may approve it."""
    revision = policy_actions.create_draft(
        documents["standard"],
        by=deputy,
        body="## 第1章\n\n副統括責任者の改定案",
        effective_date=timezone.localdate() + datetime.timedelta(days=7),
    )
    return policy_actions.submit_for_review(revision, by=deputy)


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", ROLES)
def test_each_workflow_action_is_open_only_to_those_who_may_take_it(request, as_role, role, action):
    fixture, outcome, allowed = ACTIONS[action]
    revision = request.getfixturevalue(fixture)
    before = revision.status
    events = events_besides_sign_ins()
    path = f"/manage/revisions/{revision.pk}/{action}/"
    data = {
        "return": {"reason": "第2条の表現を見直してください"},
        "publish": {"confirmed": "yes"},  # past the confirmation step (test_publish_confirmation)
    }.get(action, {})

    client = as_role(role)
    response = client.post(path, data)

    revision.refresh_from_db()
    if role in allowed:
        assert response.status_code == 302
        assert response["Location"] == f"/manage/revisions/{revision.pk}/"
        assert revision.status == outcome
        shown = client.get(response["Location"])
        assert status_badge(shown) == outcome
        assert [level for level, _text in messages(shown)] == ["success"]
    else:
        if role == "anonymous":
            assert is_login_redirect(response, path)
        else:
            assert response.status_code == 403
        assert revision.status == before
        assert events_besides_sign_ins() == events


def test_a_workflow_action_cannot_be_taken_with_a_get(as_role, draft):
    response = as_role("admin").get(f"/manage/revisions/{draft.pk}/submit/")

    assert response.status_code == 405
    draft.refresh_from_db()
    assert draft.status == RevisionStatus.DRAFT


def test_an_unknown_workflow_action_is_refused(as_role, draft):
    response = as_role("admin").post(f"/manage/revisions/{draft.pk}/delete/")

    assert response.status_code == 403
    assert PolicyRevision.objects.filter(pk=draft.pk, status=RevisionStatus.DRAFT).exists()


def test_an_action_on_an_unknown_revision_is_404(as_role, documents):
    assert as_role("admin").post("/manage/revisions/999999/submit/").status_code == 404


# --- the author never approves their own revision ----------------------------------------------


def test_the_author_sees_no_approve_button(as_role, in_review):
    response = as_role("admin").get(f"/manage/revisions/{in_review.pk}/")

    assert response.status_code == 200
    assert f"/manage/revisions/{in_review.pk}/approve/" not in form_actions(response)
    assert page(response).find("p", cls="notice") is not None


def test_someone_else_in_the_cisos_office_sees_the_approve_button(as_role, in_review):
    response = as_role("ciso").get(f"/manage/revisions/{in_review.pk}/")

    assert f"/manage/revisions/{in_review.pk}/approve/" in form_actions(response)


def test_the_author_posting_approve_anyway_is_refused(as_role, in_review):
    response = as_role("admin").post(f"/manage/revisions/{in_review.pk}/approve/")

    assert response.status_code == 403
    in_review.refresh_from_db()
    assert in_review.status == RevisionStatus.IN_REVIEW
    assert in_review.approved_by is None
    assert not AuditEvent.objects.filter(action="revision.approved", target_id=in_review.pk)


def test_the_publish_form_is_offered_only_to_the_programme_admin(as_role, approved):
    path = f"/manage/revisions/{approved.pk}/"
    publish_url = f"/manage/revisions/{approved.pk}/publish/"

    assert publish_url in form_actions(as_role("admin").get(path))
    assert publish_url not in form_actions(as_role("ciso").get(path))


# --- what the pages show ------------------------------------------------------------------------


def test_the_index_lists_revisions_in_progress_but_not_published_ones(as_role, draft):
    response = as_role("ciso").get("/manage/policies/")

    in_progress = page(response).find("section", cls="card").find("tbody").find_all("tr")
    assert len(in_progress) == 1
    assert f"/manage/revisions/{draft.pk}/" in links(response)
    published = PolicyRevision.objects.filter(status=RevisionStatus.PUBLISHED)
    assert published.count() == 3
    assert not any(f"/manage/revisions/{r.pk}/" in links(response) for r in published)
    assert "/manage/policies/procedure/new/" in links(response)


def test_the_revision_page_shows_what_the_draft_changes_in_the_text_in_force(as_role, draft):
    response = as_role("ciso").get(f"/manage/revisions/{draft.pk}/")

    blocks = diff_blocks(response)
    assert ("added", "第2条 改定で加える条文") in blocks
    assert ("same", "職員向けの基準") in blocks
    assert "第2条を追加" in page(response).find("dl", cls="facts").text


def test_a_new_revision_is_saved_as_a_draft_and_listed_in_progress(as_role, documents):
    client = as_role("admin")
    response = client.post(
        "/manage/policies/procedure/new/",
        {
            "title": "運用手順",
            "body": "## 手順\n\n新しい手順",
            "effective_date": "2030-04-01",
            "is_material": "on",
            "change_summary": "手順を更新",
        },
        follow=True,
    )

    revision = PolicyRevision.objects.get(document=documents["procedure"], number=2)
    assert revision.status == RevisionStatus.DRAFT
    assert revision.is_material
    assert revision.effective_date == datetime.date(2030, 4, 1)
    assert status_badge(response) == "draft"
    assert "令和12年4月1日" in page(response).find("dl", cls="facts").text
    assert [level for level, _text in messages(response)] == ["success"]
    assert f"/manage/revisions/{revision.pk}/" in links(client.get("/manage/policies/"))


# --- bad input ---------------------------------------------------------------------------------


def test_a_new_revision_without_a_body_or_with_an_impossible_date_is_not_saved(as_role, documents):
    revisions = PolicyRevision.objects.count()
    events = events_besides_sign_ins()

    response = as_role("admin").post(
        "/manage/policies/standard/new/",
        {"title": "対策基準（改定案）", "body": "", "effective_date": "2025-13-45"},
    )

    assert response.status_code == 200
    errors = field_errors(response)
    assert set(errors) == {"id_body", "id_effective_date"}
    assert all(errors.values())
    # What was typed is kept for correction.
    assert page(response).find("input", name="title").attrs["value"] == "対策基準（改定案）"
    assert PolicyRevision.objects.count() == revisions
    assert events_besides_sign_ins() == events


def test_a_new_revision_without_a_title_is_not_saved(as_role, documents):
    response = as_role("ciso").post(
        "/manage/policies/standard/new/", {"title": "", "body": "## 本文"}
    )

    assert response.status_code == 200
    assert set(field_errors(response)) == {"id_title"}
    assert not PolicyRevision.objects.filter(body="## 本文").exists()


def test_an_edit_with_an_invalid_date_shows_the_error_and_changes_nothing(as_role, draft):
    response = as_role("admin").post(
        f"/manage/revisions/{draft.pk}/edit/",
        {"title": draft.title, "body": "## 保存されない本文", "effective_date": "令和八年"},
    )

    assert response.status_code == 200
    assert set(field_errors(response)) == {"id_effective_date"}
    draft.refresh_from_db()
    assert "改定で加える条文" in draft.body
    assert draft.effective_date == timezone.localdate() + datetime.timedelta(days=7)
    assert not AuditEvent.objects.filter(action="revision.edited").exists()


def test_an_edit_without_a_body_changes_nothing(as_role, draft):
    response = as_role("ciso").post(
        f"/manage/revisions/{draft.pk}/edit/", {"title": "別の題名", "body": "   "}
    )

    assert set(field_errors(response)) == {"id_body"}
    draft.refresh_from_db()
    assert draft.title == "対策基準"
    assert "改定で加える条文" in draft.body


def test_a_revision_in_review_cannot_be_edited(as_role, in_review):
    client = as_role("ciso")
    edit = f"/manage/revisions/{in_review.pk}/edit/"

    shown = client.get(edit, follow=True)
    posted = client.post(edit, {"title": "x", "body": "## 書き換え"}, follow=True)

    for response in (shown, posted):
        assert response.redirect_chain == [(f"/manage/revisions/{in_review.pk}/", 302)]
        assert messages(response) == [("error", ja("Only a draft can be edited."))]
    in_review.refresh_from_db()
    assert "書き換え" not in in_review.body


def test_returning_a_revision_needs_a_reason(as_role, deputy_in_review):
    response = as_role("ciso").post(
        f"/manage/revisions/{deputy_in_review.pk}/return/", {"reason": ""}, follow=True
    )

    assert messages(response) == [("error", ja("Say why the revision is returned."))]
    assert status_badge(response) == "in_review"


def test_publishing_with_a_deadline_in_the_past_is_refused_and_the_revision_stays_approved(
    as_role, approved
):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)

    response = as_role("admin").post(
        f"/manage/revisions/{approved.pk}/publish/",
        {"deadline": yesterday.isoformat(), "confirmed": "yes"},
    )

    # The error beside the field, what was typed kept.
    assert response.status_code == 200
    field = page(response).find("div", cls="has-error")
    assert ja("The acknowledgement deadline cannot lie in the past.") in field.text
    assert field.find("input").attrs["value"] == yesterday.isoformat()
    assert status_badge(response) == "approved"
    approved.refresh_from_db()
    assert approved.status == RevisionStatus.APPROVED
    assert approved.content_sha256 == ""
    assert not AcknowledgementCampaign.objects.filter(revision=approved).exists()


def test_publishing_with_a_deadline_that_is_not_a_date_is_refused(as_role, approved):
    response = as_role("admin").post(
        f"/manage/revisions/{approved.pk}/publish/", {"deadline": "来週", "confirmed": "yes"}
    )

    assert response.status_code == 200
    field = page(response).find("div", cls="has-error")
    assert field.find("input").attrs["value"] == "来週"
    assert page(response).find(testid="error-summary") is not None
    approved.refresh_from_db()
    assert approved.status == RevisionStatus.APPROVED


def test_publishing_with_a_deadline_opens_the_campaign_with_it(as_role, approved):
    deadline = timezone.localdate() + datetime.timedelta(days=10)

    response = as_role("admin").post(
        f"/manage/revisions/{approved.pk}/publish/",
        {"deadline": deadline.isoformat(), "confirmed": "yes"},
        follow=True,
    )

    assert status_badge(response) == "published"
    approved.refresh_from_db()
    assert approved.content_sha256 in page(response).find("dl", cls="facts").text
    assert AcknowledgementCampaign.objects.get(revision=approved).deadline == deadline
    # A published revision offers no more actions.
    assert not [a for a in form_actions(response) if a.startswith("/manage/revisions/")]


def test_the_first_revision_of_a_new_document_starts_from_an_empty_text(as_role, documents):
    DocumentFactory(code="new-standard", title="新しい基準", kind="standard", audience="all_staff")
    client = as_role("admin")

    form = client.get("/manage/policies/new-standard/new/")
    saved = client.post(
        "/manage/policies/new-standard/new/",
        {"title": "新しい基準", "body": "## 第1章\n\n最初の版", "effective_date": "2030-04-01"},
        follow=True,
    )

    assert form.status_code == 200
    assert page(form).find("textarea", name="body").text == ""
    assert page(form).find("input", name="title").attrs["value"] == "新しい基準"
    assert status_badge(saved) == "draft"
    # Nothing to compare with yet.
    assert page(saved).find(testid="diff") is None


def test_a_revision_form_with_errors_shows_them_in_view_and_keeps_what_was_typed(as_role, draft):
    response = as_role("admin").post(
        f"/manage/revisions/{draft.pk}/edit/",
        {"title": "", "body": "## 第1章\n\n書きかけの本文", "effective_date": "来年の4月"},
    )

    assert response.status_code == 200
    summary = page(response).find(testid="error-summary")
    targets = {a.attrs["href"] for a in summary.find_all("a")}
    assert {"#id_title", "#id_effective_date"} <= targets
    fields = page(response).find_all("div", cls="has-error")
    assert {f.find("input").attrs["name"] for f in fields if f.find("input")} >= {
        "title",
        "effective_date",
    }
    assert page(response).find("textarea", name="body").text == "## 第1章 書きかけの本文"
    assert page(response).find("input", name="effective_date").attrs["value"] == "来年の4月"
    draft.refresh_from_db()
    assert "書きかけ" not in draft.body
