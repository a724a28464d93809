import datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from isms.models import AuditEvent, PolicyDocument, PolicyRevision, RevisionStatus
from isms.policy_import import PolicyFormatError, parse_policy

from .factories import UserFactory

SEED = Path(__file__).resolve().parent.parent / "isms" / "demo" / "basic_policy.txt"

VALID = """情報セキュリティ基本方針

1. 目的

情報資産を守ります。

2. 定義

(1) ネットワーク

通信網をいいます。

附 則

この基本方針は、平成15年4月1日から施行する。

附 則

この基本方針は、令和元年7月1日から施行する。
"""


@pytest.fixture
def author(db):
    return UserFactory(username="admin")


def write(tmp_path, text):
    path = tmp_path / "policy.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_citys_basic_policy_imports_with_its_nine_revisions(author):
    call_command("import_policy", str(SEED))
    document = PolicyDocument.objects.get(code="basic-policy")
    assert document.audience == "public"
    revisions = list(document.revisions.order_by("number"))
    assert [r.effective_date for r in revisions][:3] == [
        datetime.date(2003, 4, 1),
        datetime.date(2007, 4, 1),
        datetime.date(2019, 7, 1),
    ]
    assert revisions[-1].effective_date == datetime.date(2025, 11, 27)
    assert len(revisions) == 9
    assert document.current_revision() == revisions[-1]
    assert {r.status for r in revisions[:-1]} == {RevisionStatus.SUPERSEDED}
    assert all(r.content_sha256 == r.compute_sha256() for r in revisions)
    assert "## 6. 情報セキュリティ対策" in revisions[-1].body
    assert "### (1) ネットワーク" in revisions[-1].body
    assert AuditEvent.objects.filter(action="policy.imported").count() == 1


def test_the_text_is_kept_as_written(author, tmp_path):
    text = VALID.replace("守ります", "（全角）守ります")
    call_command("import_policy", str(write(tmp_path, text)))
    body = PolicyRevision.objects.order_by("-number").first().body
    assert "（全角）" in body


@pytest.mark.parametrize(
    "broken, message",
    [
        (VALID.replace("この基本方針は、令和元年7月1日から施行する。", ""), "附則 without"),
        (VALID.replace("令和元年7月1日", "令和元年4月1日"), "valid effective date"),
        (VALID.replace("令和元年7月1日", "平成14年4月1日"), "must increase"),
        (VALID.replace("2. 定義", "3. 定義"), "section 3 found where section 2"),
        (VALID.split("附 則")[0], "no supplementary provision"),
        ("", "empty"),
    ],
)
def test_a_malformed_file_gets_a_clear_error_and_creates_nothing(author, tmp_path, broken, message):
    with pytest.raises(CommandError, match=message):
        call_command("import_policy", str(write(tmp_path, broken)))
    assert not PolicyDocument.objects.exists()
    assert not PolicyRevision.objects.exists()


def test_the_error_names_the_line(author):
    with pytest.raises(PolicyFormatError) as error:
        parse_policy(VALID.replace("令和元年7月1日", "令和元年4月1日"))
    assert error.value.line == 19


def test_importing_the_same_code_twice_is_refused(author, tmp_path):
    path = write(tmp_path, VALID)
    call_command("import_policy", str(path))
    with pytest.raises(CommandError, match="already exists"):
        call_command("import_policy", str(path))
    assert PolicyRevision.objects.count() == 2


def test_a_standard_cannot_be_imported_as_public(author, tmp_path):
    with translation.override("en"), pytest.raises(CommandError, match="never public"):
        call_command(
            "import_policy",
            str(write(tmp_path, VALID)),
            "--code",
            "standard",
            "--kind",
            "standard",
            "--audience",
            "public",
        )
    assert not PolicyDocument.objects.exists()


def test_a_file_that_is_not_utf8_is_refused(author, tmp_path):
    path = tmp_path / "policy.txt"
    path.write_bytes(VALID.encode("shift_jis"))
    with pytest.raises(CommandError, match="UTF-8"):
        call_command("import_policy", str(path))
