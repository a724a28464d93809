"""A diff people can read (issue 12): the rendered text of the policy, inserted and deleted
words in <ins> and <del> and named in words, section headings kept as context, unchanged
runs folded with the number of paragraphs they hide; the same on every page that shows it."""

import re

import pytest
from django.conf import settings
from django.utils import translation

from acknowledgements.services import acknowledge
from isms import policy_actions
from isms.policy_diff import diff_blocks, readable_diff

from .conftest import publish
from .pages import diff_blocks as shown_blocks
from .pages import page

CHAPTERS = "\n\n".join(f"第{n}条 変更のない条文その{n}です。" for n in range(1, 14))
OLD = f"""# 情報セキュリティ対策基準

## 第1章 総則

{CHAPTERS}

## 第2章 管理

職員は毎年研修を受ける。

- 端末は**施錠**して保管する。
- USBメモリは使用しない。
"""
NEW = f"""# 情報セキュリティ対策基準

## 第1章 総則

{CHAPTERS}

## 第2章 管理

職員は毎年4月に研修を受ける。

- 端末は**施錠**して保管する。
- 私物の端末を業務に使わない。
"""


def html_of(old, new):
    with translation.override("ja"):
        return str(readable_diff(old, new))


def statuses(old, new):
    return [(e.status, e.context, e.block.kind, e.block.text) for e in diff_blocks(old, new)]


# --- the diff function -------------------------------------------------------------------------


def test_words_inserted_in_a_sentence_are_marked_with_ins_and_named_for_screen_readers():
    html = html_of(OLD, NEW)

    assert re.search(r"<ins><span class=\"visually-hidden\">挿入： </span>4月に<span", html)
    assert "（挿入ここまで）" in html
    # The rest of the sentence is plain text, not marked as changed.
    assert "職員は毎年" in html and "研修を受ける。" in html


def test_a_deleted_list_item_is_marked_with_del_and_a_visible_tag():
    html = html_of(OLD, NEW)

    assert re.search(r'<span class="diff-tag">削除</span> <del>USBメモリは使用しない。</del>', html)
    assert re.search(
        r'<span class="diff-tag">追加</span> <ins>私物の端末を業務に使わない。</ins>', html
    )


def test_the_rendered_text_is_shown_without_markdown_syntax():
    html = html_of(OLD, NEW)

    assert "##" not in html and "**" not in html and "- " not in html
    # The emphasis is read as its words; list items stay items of a list.
    assert re.search(r'<ul class="diff-list"><li class="diff-block same depth-1"', html)
    assert "端末は施錠して保管する。" in html


def test_the_heading_of_a_changed_section_is_kept_as_context_even_unchanged():
    blocks = statuses(OLD, NEW)

    assert ("same", True, "heading", "第2章 管理") in blocks
    assert ("same", True, "heading", "情報セキュリティ対策基準") in blocks
    # The first chapter changed nothing: its heading is not context.
    assert ("same", False, "heading", "第1章 総則") in blocks
    html = html_of(OLD, NEW)
    # Policy headings sit below the page's own headings: the top level becomes h3.
    assert '<h4 class="diff-block context" data-status="context">第2章 管理</h4>' in html


def test_a_changed_heading_is_shown_with_its_change():
    old = "## 第1章 総則\n\n本文"
    new = "## 第1章 総則及び定義\n\n本文"

    html = html_of(old, new)

    assert [(s, k) for s, _c, k, _t in statuses(old, new)] == [
        ("changed", "heading"),
        ("same", "paragraph"),
    ]
    assert re.search(r"<h3 class=\"diff-block changed\"[^>]*>.*及び定義.*</h3>", html)


def test_an_unchanged_run_is_folded_with_a_sentence_saying_how_many_paragraphs_it_hides():
    html = html_of(OLD, NEW)

    # 第1章's heading and its thirteen articles.
    assert '<details class="diff-fold" data-hidden="14"><summary>変更のない14段落</summary>' in html
    with translation.override("en"):
        assert "<summary>14 unchanged paragraphs</summary>" in str(readable_diff(OLD, NEW))
    # The folded text is still there to read, and no empty row stands in for it.
    assert "第13条 変更のない条文その13です。" in html
    assert "…" not in html


def test_a_single_unchanged_paragraph_between_changes_is_shown_not_folded():
    old = "一\n\n二\n\n三"
    new = "一追加\n\n二\n\n三追加"

    html = html_of(old, new)

    assert "<details" not in html
    assert '<p class="diff-block same" data-status="same">二</p>' in html


def test_a_rewritten_paragraph_reads_as_one_removed_and_one_added():
    blocks = statuses("## 章\n\n職員向けの基準", "## 章\n\nパスワードは12文字以上とする。")

    assert [(s, t) for s, _c, _k, t in blocks if s != "same"] == [
        ("removed", "職員向けの基準"),
        ("added", "パスワードは12文字以上とする。"),
    ]


def test_identical_texts_give_no_diff():
    assert readable_diff("## 章\n\n本文", "## 章\n\n本文") == ""


def test_html_and_scripts_in_the_policy_text_are_never_markup():
    old = "## 章\n\n比較 a < b & c"
    new = (
        "## 章\n\n比較 a < b & c <script>alert(1)</script> <img src=x onerror=alert(2)>"
        "\n\n<b>太字</b>"
    )

    html = html_of(old, new)

    assert "<script" not in html and "alert(" not in html and "onerror" not in html
    assert "<img" not in html and "<b>" not in html
    assert "a &lt; b &amp; c" in html


# --- the pages that show it --------------------------------------------------------------------


@pytest.fixture
def standard_long(documents, people, standard):
    """The standard rewritten as OLD (revision 2) then NEW (revision 3); staff_joho has
    acknowledged revision 2."""
    second = publish(
        documents["standard"], author=people["admin"], approver=people["ciso"], body=OLD
    )
    acknowledge(people["staff"], second)
    return publish(documents["standard"], author=people["admin"], approver=people["ciso"], body=NEW)


def assert_readable_diff(response):
    assert response.status_code == 200
    blocks = shown_blocks(response)
    assert ("changed", "職員は毎年4月に研修を受ける。") in blocks
    assert ("removed", "USBメモリは使用しない。") in blocks
    assert ("added", "私物の端末を業務に使わない。") in blocks
    assert ("context", "第2章 管理") in blocks
    diff = page(response).find(testid="diff")
    assert diff.find("table") is None  # one column, at every width
    assert diff.find("details", cls="diff-fold").find("summary").text == "変更のない14段落"
    assert "##" not in diff.text
    legend = page(response).find(testid="diff-legend").text
    assert "第2版" in legend and "第3版" in legend


def test_the_diff_page_shows_the_readable_diff(as_role, standard_long):
    assert_readable_diff(as_role("staff").get("/policies/standard/diff/?from=2&to=3"))


def test_the_read_before_acknowledging_page_shows_the_readable_diff(as_role, standard_long):
    assert_readable_diff(as_role("staff").get(f"/acknowledgements/revisions/{standard_long.pk}/"))


def test_the_manage_page_shows_what_a_draft_changes_in_the_readable_diff(
    as_role, documents, people, standard_long
):
    draft = policy_actions.create_draft(
        documents["standard"], by=people["admin"], body=NEW.replace("4月に", "4月と10月に")
    )

    response = as_role("ciso").get(f"/manage/revisions/{draft.pk}/")

    blocks = shown_blocks(response)
    assert ("changed", "職員は毎年4月と10月に研修を受ける。") in blocks
    assert [status for status, _text in blocks if status not in ("same", "context")] == ["changed"]


def test_the_diff_page_in_english_marks_changes_in_english(client, people, standard_long):
    client.force_login(people["staff"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/policies/standard/diff/?from=2&to=3")

    html = response.content.decode()
    assert "Inserted: " in html and "(end of insertion)" in html
    assert "14 unchanged paragraphs" in html
    assert "Revision 2 (effective" in page(response).find(testid="diff-legend").text


def test_the_diff_page_of_identical_texts_says_so(as_role, documents, people, standard):
    publish(
        documents["standard"],
        author=people["admin"],
        approver=people["ciso"],
        body=standard.body,
    )

    response = as_role("staff").get("/policies/standard/diff/?from=1&to=2")

    assert page(response).find(testid="diff-identical") is not None


def test_the_diff_page_reads_a_bounded_number_of_queries(
    as_role, standard_long, django_assert_max_num_queries
):
    client = as_role("staff")
    with django_assert_max_num_queries(25):
        assert client.get("/policies/standard/diff/?from=2&to=3").status_code == 200
