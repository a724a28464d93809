"""Reading the policy in the browser: the public basic policy, the document list, each
document with its history, single revisions and the differences between two."""

import datetime

import pytest
from django.utils import timezone

from isms import policy_actions
from isms.eras import to_era

from .conftest import ROLES, publish
from .factories import DocumentFactory
from .pages import diff_blocks, is_login_redirect, links, main_text, page


@pytest.fixture
def basic_amended(documents, people):
    """The basic policy amended once, on 2026-04-01, after its first version of 2025-04-01."""
    return publish(
        documents["basic"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 1. 目的\n\n改正後の基本方針",
        effective_date=datetime.date(2026, 4, 1),
        material=False,
    )


@pytest.fixture
def standard_v2(documents, people):
    """A second revision of the standard: a new first chapter added, a sentence removed."""
    return publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 総則\n\n第1条 パスワードは12文字以上とする。\n\n## 第1章\n\n",
    )


# --- /policy/ ----------------------------------------------------------------------------


def test_an_anonymous_visitor_reads_the_basic_policy_without_logging_in(client, documents):
    response = client.get("/policy/")

    assert response.status_code == 200
    text = main_text(response)
    assert "基本方針" in text
    assert "公開の基本方針" in text


def test_the_public_policy_dates_its_history_in_the_japanese_era(client, documents, basic_amended):
    response = client.get("/policy/")

    assert response.status_code == 200
    history = page(response).find("section", cls="history").text
    assert "令和7年4月1日" in history
    assert "令和8年4月1日" in history
    assert "2025" not in history
    # The amended text is the one in force; the first version is only in the history.
    body = page(response).find("div", cls="policy-body").text
    assert "改正後の基本方針" in body
    assert "公開の基本方針" not in body
    assert "令和8年4月1日" in page(response).find(testid="in-force").text


def test_the_public_policy_links_every_published_revision_of_its_history(
    client, documents, basic_amended
):
    history = page(client.get("/policy/")).find("ol", cls="history-list")
    hrefs = [a.attrs["href"] for a in history.find_all("a")]

    assert sorted(hrefs) == [
        "/policies/basic-policy/revisions/1/",
        "/policies/basic-policy/revisions/2/",
    ]
    first = client.get("/policies/basic-policy/revisions/1/")
    assert first.status_code == 200
    assert "公開の基本方針" in page(first).find("div", cls="policy-body").text


def test_a_draft_of_the_basic_policy_stays_out_of_the_public_history(client, documents, people):
    policy_actions.create_draft(
        documents["basic"],
        by=people["admin"],
        body="## 下書き\n\n未公開の改正案",
        effective_date=datetime.date(2030, 1, 1),
    )

    response = client.get("/policy/")

    assert "未公開の改正案" not in response.content.decode()
    assert "/policies/basic-policy/revisions/2/" not in links(response)
    assert to_era(datetime.date(2030, 1, 1)) not in main_text(response)


def test_the_public_policy_page_is_404_before_a_basic_policy_exists(client, db):
    assert client.get("/policy/").status_code == 404


# --- /policies/ --------------------------------------------------------------------------

EVERYTHING = {"基本方針", "対策基準", "運用手順"}
LISTED = {
    "anonymous": {"基本方針"},
    "staff": EVERYTHING,  # 情報政策課 lies in 総務部, the procedure's audience
    "staff_somuka": EVERYTHING,
    "chief": EVERYTHING,
    "head": EVERYTHING,
    "other_head": {"基本方針", "対策基準"},
    "other_staff": {"基本方針", "対策基準"},
    "auditor": EVERYTHING,
    "ciso": EVERYTHING,
    "admin": EVERYTHING,
}


@pytest.mark.parametrize("role", [*ROLES, "other_staff", "staff_somuka"])
def test_the_document_list_shows_each_person_the_documents_meant_for_them(as_role, documents, role):
    response = as_role(role).get("/policies/")

    assert response.status_code == 200
    titles = {li.find("strong").text for li in page(response).find_all("li", cls="card")}
    assert titles == LISTED[role]


def test_the_document_list_invites_anonymous_visitors_to_log_in_for_staff_documents(
    client, documents
):
    assert any(href.startswith("/accounts/login/") for href in links(client.get("/policies/")))


# --- /policies/<code>/ -------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_standard_is_for_staff_only(as_role, documents, role):
    response = as_role(role).get("/policies/standard/")

    if role == "anonymous":
        assert is_login_redirect(response, "/policies/standard/")
    else:
        assert response.status_code == 200
        assert "職員向けの基準" in main_text(response)


PROCEDURE_STATUS = {
    "staff": 200,
    "staff_somuka": 200,
    "chief": 200,
    "head": 200,
    "auditor": 200,
    "ciso": 200,
    "admin": 200,
    "other_head": 404,
    "other_staff": 404,
}


@pytest.mark.parametrize("role", [*ROLES, "other_staff", "staff_somuka"])
def test_the_procedure_for_somubu_is_hidden_from_other_departments(as_role, documents, role):
    response = as_role(role).get("/policies/procedure/")

    if role == "anonymous":
        assert is_login_redirect(response, "/policies/procedure/")
        return
    assert response.status_code == PROCEDURE_STATUS[role]
    if response.status_code == 200:
        assert "総務部だけの手順" in main_text(response)
    else:
        # Outsiders learn nothing about the document, not even its title.
        assert "総務部だけの手順" not in response.content.decode()
        assert "運用手順" not in response.content.decode()


@pytest.mark.parametrize("path", ["revisions/1/", "diff/?from=1&to=1"])
def test_other_departments_cannot_reach_the_procedure_through_its_revisions(
    as_role, documents, path
):
    response = as_role("other_head").get(f"/policies/procedure/{path}")

    assert response.status_code == 404
    assert "総務部だけの手順" not in response.content.decode()


def test_an_unknown_document_is_404(as_role, documents):
    assert as_role("admin").get("/policies/no-such-document/").status_code == 404


def test_a_document_page_shows_the_history_with_era_dates_and_marks_the_one_in_force(
    as_role, documents, standard_v2
):
    response = as_role("staff").get("/policies/standard/")

    today = to_era(timezone.localdate())
    history = page(response).find("ol", cls="history-list").find_all("li")
    assert len(history) == 2
    assert all(today in item.text for item in history)
    badges = [item.find("span", cls="badge") for item in history]
    assert [sorted(b.classes - {"badge"}) for b in badges] == [["published"], ["superseded"]]
    assert (
        "第1条 パスワードは12文字以上とする。" in page(response).find("div", cls="policy-body").text
    )


# --- revisions and differences -------------------------------------------------------------


def test_a_superseded_revision_keeps_its_own_page(as_role, documents, standard_v2):
    response = as_role("staff").get("/policies/standard/revisions/1/")

    assert response.status_code == 200
    body = page(response).find("div", cls="policy-body").text
    assert "職員向けの基準" in body
    assert "パスワード" not in body
    assert documents["standard"].revisions.get(number=1).content_sha256 in main_text(response)


def test_the_diff_page_shows_the_removed_and_the_added_lines(as_role, documents, standard_v2):
    response = as_role("staff").get("/policies/standard/diff/?from=1&to=2")

    assert response.status_code == 200
    blocks = diff_blocks(response)
    assert ("removed", "職員向けの基準") in blocks
    assert ("added", "総則") in blocks
    assert ("added", "第1条 パスワードは12文字以上とする。") in blocks
    assert ("context", "第1章") in blocks
    assert not any(status == "same" and "職員向けの基準" in text for status, text in blocks)


def test_the_diff_page_read_backwards_swaps_removed_and_added(as_role, documents, standard_v2):
    blocks = diff_blocks(as_role("staff").get("/policies/standard/diff/?from=2&to=1"))

    assert ("added", "職員向けの基準") in blocks
    assert ("removed", "第1条 パスワードは12文字以上とする。") in blocks


def test_the_diff_page_labels_both_revisions_with_era_dates(as_role, documents, standard_v2):
    response = as_role("staff").get("/policies/standard/diff/?from=1&to=2")

    legend = page(response).find(testid="diff-legend").text
    today = to_era(timezone.localdate())
    assert f"第1版（{today}施行）から第2版（{today}施行）への変更点です。" in legend


@pytest.mark.parametrize("query", ["", "?from=1", "?from=a&to=2", "?from=1&to=9"])
def test_the_diff_page_is_404_without_two_readable_revisions(
    as_role, documents, standard_v2, query
):
    assert as_role("staff").get(f"/policies/standard/diff/{query}").status_code == 404


def test_the_diff_page_sends_anonymous_visitors_of_a_staff_document_to_log_in(
    client, documents, standard_v2
):
    response = client.get("/policies/standard/diff/?from=1&to=2")

    assert is_login_redirect(response, "/policies/standard/diff/?from=1&to=2")


@pytest.fixture
def draft(documents, people):
    return policy_actions.create_draft(
        documents["standard"],
        by=people["admin"],
        body="## 第1章\n\n検討中の改定案",
        effective_date=timezone.localdate() + datetime.timedelta(days=14),
    )


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("staff", 404),
        ("head", 404),
        ("auditor", 404),
        ("ciso", 200),
        ("admin", 200),
    ],
)
def test_a_draft_revision_is_visible_only_to_the_cisos_office(as_role, draft, role, status):
    response = as_role(role).get(f"/policies/standard/revisions/{draft.number}/")

    assert response.status_code == status
    assert ("検討中の改定案" in response.content.decode()) == (status == 200)


def test_a_draft_cannot_be_read_through_the_diff_page_either(as_role, draft):
    response = as_role("staff").get(f"/policies/standard/diff/?from=1&to={draft.number}")

    assert response.status_code == 404
    assert "検討中の改定案" not in response.content.decode()


def test_a_draft_is_left_out_of_the_document_history(as_role, draft):
    response = as_role("admin").get("/policies/standard/")

    assert f"/policies/standard/revisions/{draft.number}/" not in links(response)
    assert "検討中の改定案" not in main_text(response)


# --- a revision published ahead of its effective date ----------------------------------------


@pytest.fixture
def future_revision(documents, people):
    return publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body="## 第1章\n\n来月から適用される基準",
        effective_date=timezone.localdate() + datetime.timedelta(days=30),
    )


def test_a_future_revision_is_announced_while_the_one_in_force_is_shown(
    as_role, documents, future_revision
):
    response = as_role("staff").get("/policies/standard/")

    assert response.status_code == 200
    body = page(response).find("div", cls="policy-body").text
    assert "職員向けの基準" in body
    assert "来月から適用される基準" not in body
    in_force = page(response).find(testid="in-force").text
    assert to_era(timezone.localdate()) in in_force
    notices = [p.text for p in page(response).find("article").find_all("p", cls="notice")]
    assert len(notices) == 1
    assert to_era(future_revision.effective_date) in notices[0]
    assert f"/policies/standard/revisions/{future_revision.number}/" in links(response)


def test_the_announced_future_revision_can_be_read_in_advance(as_role, future_revision):
    response = as_role("staff").get(f"/policies/standard/revisions/{future_revision.number}/")

    assert response.status_code == 200
    assert "来月から適用される基準" in page(response).find("div", cls="policy-body").text
    badge = page(response).find("span", cls="badge")
    assert "published" in badge.classes


def test_nothing_is_announced_when_no_revision_waits_for_its_effective_date(as_role, documents):
    response = as_role("staff").get("/policies/standard/")

    assert page(response).find("article").find_all("p", cls="notice") == []


def test_a_document_without_any_revision_says_so_instead_of_failing(as_role, documents):
    DocumentFactory(code="new-standard", title="新しい基準", kind="standard", audience="all_staff")

    response = as_role("staff").get("/policies/new-standard/")

    assert response.status_code == 200
    assert "新しい基準" in page(response).find("h1").text
    assert page(response).find("div", cls="policy-body") is None
    assert page(response).find("ol", cls="history-list").find("a") is None
