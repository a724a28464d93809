"""Revision names in one form everywhere (issue 12): 「第3版」, with its effective date where a
revision is named on its own — 「対策基準 第3版（令和8年4月1日施行）」 — never "(改定版 3)";
the home page names the revision and its number, so two pending revisions of one document
no longer look the same."""

import datetime
import re

import pytest
from django.utils import timezone, translation

from acknowledgements.services import acknowledge
from isms import policy_actions
from isms.eras import to_era

from .conftest import publish
from .pages import main_text, page

OLD_FORMS = re.compile(r"改定版\s*\d|\(revision \d|（第\d+版）")


def test_a_revision_is_named_by_one_model_property_in_both_languages(standard):
    date = to_era(standard.effective_date)
    with translation.override("ja"):
        assert standard.number_label == "第1版"
        assert standard.label == f"第1版（{date}施行）"
        assert standard.full_name == f"対策基準 第1版（{date}施行）"
        assert str(standard) == standard.full_name
    with translation.override("en"):
        english = standard.effective_date.strftime("%-d %B %Y")
        assert standard.number_label == "Revision 1"
        assert standard.label == f"Revision 1 (effective {english})"
        assert standard.full_name == f"対策基準, revision 1 (effective {english})"


def test_a_draft_without_an_effective_date_is_named_by_its_number_alone(documents, people):
    draft = policy_actions.create_draft(documents["standard"], by=people["admin"], body="本文")
    with translation.override("ja"):
        assert draft.label == "第2版"
        assert draft.full_name == "対策基準 第2版"


@pytest.fixture
def two_pending(documents, people):
    """Two published revisions of the procedure that 総務部 has not acknowledged: one in
    force (revision 2) and one taking effect next month (revision 3)."""
    procedure = documents["procedure"]
    second = publish(procedure, author=people["admin"], approver=people["ciso"], body="第2版")
    third = publish(
        procedure,
        author=people["admin"],
        approver=people["ciso"],
        body="第3版",
        effective_date=timezone.localdate() + datetime.timedelta(days=30),
    )
    return second, third


def test_the_home_page_tells_two_pending_revisions_of_one_document_apart(
    as_role, two_pending, documents
):
    second, third = two_pending

    response = as_role("staff").get("/")

    items = page(response).find(testid="pending-panel").find_all(testid="pending-revision")
    texts = [item.text for item in items]
    for revision in (second, third):
        assert any(
            f"運用手順 第{revision.number}版（{to_era(revision.effective_date)}施行）" in text
            for text in texts
        ), texts
    assert all("確認期限：" in text for text in texts)
    assert len(set(texts)) == len(texts)


def test_the_policy_pages_name_revisions_in_one_form(as_role, documents, people, standard):
    acknowledge(people["staff"], standard)
    second = publish(
        documents["standard"], author=people["admin"], approver=people["ciso"], body="改定"
    )
    draft = policy_actions.create_draft(documents["standard"], by=people["admin"], body="案")
    date = to_era(second.effective_date)
    staff = as_role("staff")  # one test client: the staff pages first, then the CISO's
    pages = {
        "document": staff.get("/policies/standard/"),
        "revision": staff.get("/policies/standard/revisions/2/"),
        "diff": staff.get("/policies/standard/diff/?from=1&to=2"),
        "read": staff.get(f"/acknowledgements/revisions/{second.pk}/"),
        "mine": staff.get("/acknowledgements/"),
    }
    ciso = as_role("ciso")
    pages |= {
        "manage": ciso.get(f"/manage/revisions/{draft.pk}/"),
        "index": ciso.get("/manage/policies/"),
        "edit": ciso.get(f"/manage/revisions/{draft.pk}/edit/"),
    }

    for name, response in pages.items():
        assert response.status_code == 200, name
        assert not OLD_FORMS.search(main_text(response)), name
    assert f"現在施行中：第2版（{date}施行）" in main_text(pages["document"])
    assert page(pages["revision"]).find(testid="revision-name").text == f"第2版（{date}施行）"
    assert page(pages["read"]).find(testid="revision-name").text == f"第2版（{date}施行）"
    assert "第1版" in main_text(pages["mine"])
    assert page(pages["manage"]).find(testid="revision-name").text == "第3版"
    assert "第3版" in page(pages["index"]).find("tbody").text
    assert "第3版" in main_text(pages["edit"])
