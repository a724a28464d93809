"""The portal speaks Japanese first, English on request, and the API speaks ISO 8601.

Language choice is Django's standard: the language cookie set by /i18n/setlang/ wins, then
the browser's Accept-Language, then LANGUAGE_CODE ("ja").
"""

import re

import pytest
from django.conf import settings
from django.utils import translation

PO_FILE = settings.BASE_DIR / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def _html_lang(response):
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    return match and match.group(1)


def _assert_japanese_policy_page(response):
    assert response.status_code == 200
    page = response.content.decode()
    assert _html_lang(response) == "ja"
    assert "情報セキュリティポータル" in page
    assert "Information security portal" not in page
    assert "令和7年4月1日" in page
    assert "1 April 2025" not in page
    assert "改定履歴（附則）" in page


def _assert_english_policy_page(response):
    assert response.status_code == 200
    page = response.content.decode()
    assert _html_lang(response) == "en"
    assert "Information security portal" in page
    assert "情報セキュリティポータル" not in page
    assert "In force: Revision 1 (effective 1 April 2025)" in page
    assert "令和" not in page


def test_the_public_policy_is_in_japanese_by_default(client, documents):
    _assert_japanese_policy_page(client.get("/policy/"))


def test_switching_to_english_and_back(client, documents):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/policy/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/policy/"
    _assert_english_policy_page(response)
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    # The choice sticks for the next page...
    _assert_english_policy_page(client.get("/policy/"))
    # ...until the person switches back.
    response = client.post("/i18n/setlang/", {"language": "ja", "next": "/policy/"}, follow=True)
    _assert_japanese_policy_page(response)


def test_a_language_cookie_selects_english(client, documents):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    _assert_english_policy_page(client.get("/policy/"))


def test_the_cookie_outranks_the_browser_language(client, documents):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ja"
    _assert_japanese_policy_page(client.get("/policy/", HTTP_ACCEPT_LANGUAGE="en"))


def test_staff_pages_show_japanese_labels(as_role, documents):
    client = as_role("staff")
    page = client.get("/policies/standard/").content.decode()
    # Navigation (registered with gettext_lazy), choice labels and template strings.
    assert "ポリシー文書" in page
    assert "自分の確認状況" in page
    assert "情報セキュリティ対策基準" in page
    assert "全職員" in page
    assert "施行中" in page
    assert "ログアウト" in page
    for english in ("My acknowledgements", "Security standard", "All staff", "In force"):
        assert english not in page


def test_managers_see_workflow_terms_in_japanese(as_role, documents):
    page = as_role("admin").get("/manage/policies/").content.decode()
    assert "ポリシー管理" in page
    assert "監査証跡" in page
    assert "改定案を作成" in page
    assert "Manage policy" not in page


def test_the_api_gives_iso_dates_whatever_the_language(as_role, documents):
    client = as_role("admin")
    for language in ("ja", "en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        response = client.get("/api/revisions/", {"document": documents["basic"].pk})
        assert response.status_code == 200
        body = response.content.decode()
        assert '"effective_date":"2025-04-01"' in body.replace(" ", "")
        assert "令和" not in body
        [revision] = response.json()["results"]
        assert revision["effective_date"] == "2025-04-01"
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+09:00", revision["published_at"]
        )


# --- the catalogue itself ---------------------------------------------------------------


def _po_entries():
    """(context, msgid, msgid_plural, msgstr, flags) for every live entry of the Japanese
    catalogue. Japanese has one plural form, so msgstr is msgstr[0] for a plural entry;
    context and msgid_plural are "" when the entry has none."""
    text = PO_FILE.read_text(encoding="utf-8")
    entries = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        flags = {
            flag.strip() for line in lines if line.startswith("#,") for flag in line[2:].split(",")
        }
        fields, key = {}, None
        for line in lines:
            match = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[0\])?)\s+(".*")$', line)
            if match:
                key = match.group(1).removesuffix("[0]")
                fields[key] = [match.group(2)]
            elif re.match(r"msgstr\[\d+\]", line):
                key = None  # a further plural form: Japanese has none
            elif key and line.startswith('"'):
                fields[key].append(line)
        if "msgid" in fields:
            context, msgid, plural, msgstr = (
                "".join(_unquote(s) for s in fields.get(k, []))
                for k in ("msgctxt", "msgid", "msgid_plural", "msgstr")
            )
            entries.append((context, msgid, plural, msgstr, flags))
    return entries


def _unquote(quoted):
    return quoted[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def test_every_message_is_translated_and_keeps_its_placeholders():
    entries = [e for e in _po_entries() if e[1]]
    assert len(entries) > 200
    for _context, msgid, plural, msgstr, flags in entries:
        assert "fuzzy" not in flags, msgid
        assert msgstr, f"untranslated: {msgid!r}"
        # The one Japanese form stands for the plural, which names every placeholder.
        source = plural or msgid
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(msgstr)), msgid


def test_the_compiled_catalogue_matches_the_po_file():
    """compilemessages has been run since the .po file last changed."""
    with translation.override("ja"):
        for context, msgid, plural, msgstr, _flags in _po_entries():
            if not msgid:
                continue
            if plural and context:
                compiled = translation.npgettext(context, msgid, plural, 2)
            elif plural:
                compiled = translation.ngettext(msgid, plural, 2)
            elif context:
                compiled = translation.pgettext(context, msgid)
            else:
                compiled = translation.gettext(msgid)
            assert compiled == msgstr, msgid


@pytest.mark.parametrize(
    ("english", "japanese"),
    [
        ("Basic policy", "基本方針"),
        ("Section chief (情報セキュリティ管理者)", "情報セキュリティ管理者（課長）"),
        ("Department head (情報セキュリティ責任者)", "情報セキュリティ責任者（部長）"),
        ("CISO (最高情報セキュリティ責任者)", "最高情報セキュリティ責任者（CISO）"),
        ("Programme admin (統括情報セキュリティ責任者)", "統括情報セキュリティ責任者"),
        ("Auditor", "監査人"),
        ("Audit trail", "監査証跡"),
        ("Draft", "下書き"),
        ("In review", "審査中"),
        ("Approved", "承認済み"),
    ],
)
def test_key_terms(english, japanese):
    with translation.override("ja"):
        assert translation.gettext(english) == japanese
