"""Reading a policy written in the city's plain-text format.

The format is that of the published basic policy: a title line, numbered sections
("1. 目的"), numbered items ("(1) ネットワーク"), and at the end one 附則 (supplementary
provision) per revision, each saying from which date it applies:

    附 則
    この基本方針は、令和7年11月27日から施行する。
"""

import re
import unicodedata
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from . import audit
from .audit import AuditAction
from .eras import parse_era
from .models import PolicyDocument, PolicyRevision, RevisionStatus
from .policy_actions import activate_due_revisions

SECTION_RE = re.compile(r"^(\d{1,2})\.\s*(\S.*)$")
ITEM_RE = re.compile(r"^\((\d{1,2})\)\s*(\S.*)$")
SUPPLEMENT_RE = re.compile(r"^附\s*則$")


class PolicyFormatError(ValueError):
    def __init__(self, line, message):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass
class Supplement:
    line: int
    text: str
    effective_date: object


@dataclass
class ParsedPolicy:
    title: str
    body: str
    supplements: list

    def body_as_of(self, index):
        """The text as it read when supplement `index` was added: the body and the
        supplements up to it (the text of earlier versions was not published)."""
        provisions = "\n\n".join(f"附 則\n\n{s.text}" for s in self.supplements[: index + 1])
        return f"{self.body}\n\n{provisions}".strip() + "\n"


def parse_policy(text):
    # Match on the NFKC form (full-width digits and brackets) but keep the text as written.
    content = [
        (n, line.rstrip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]
    if not content:
        raise PolicyFormatError(0, "the file is empty")
    title_line, title = content[0]
    if SECTION_RE.match(title) or SUPPLEMENT_RE.match(title.strip()):
        raise PolicyFormatError(title_line, "the first line must be the policy's title")

    body_parts, supplements = [], []
    expected_section = 1
    in_supplements = False
    pending_supplement = None
    for n, line in content[1:]:
        stripped = unicodedata.normalize("NFKC", line).strip()
        if SUPPLEMENT_RE.match(stripped):
            if pending_supplement is not None:
                raise PolicyFormatError(pending_supplement, "附則 without an effective date")
            in_supplements, pending_supplement = True, n
            continue
        if in_supplements:
            if pending_supplement is None:
                raise PolicyFormatError(n, "text after the supplementary provisions (附則)")
            try:
                effective = parse_era(stripped)
            except ValueError as error:
                raise PolicyFormatError(
                    n, f"附則 without a valid effective date: {error}"
                ) from None
            if supplements and effective <= supplements[-1].effective_date:
                raise PolicyFormatError(
                    n, "effective dates must increase from one 附則 to the next"
                )
            supplements.append(Supplement(n, line.strip(), effective))
            pending_supplement = None
            continue
        section = SECTION_RE.match(stripped)
        if section:
            number = int(section.group(1))
            if number != expected_section:
                raise PolicyFormatError(
                    n, f"section {number} found where section {expected_section} was expected"
                )
            expected_section += 1
            body_parts.append(f"## {line.strip()}")
            continue
        item = ITEM_RE.match(stripped)
        if item and len(item.group(2)) <= 30 and "。" not in item.group(2):
            body_parts.append(f"### {line.strip()}")
            continue
        body_parts.append(line.strip())

    if pending_supplement is not None:
        raise PolicyFormatError(pending_supplement, "附則 without an effective date")
    if expected_section == 1:
        raise PolicyFormatError(0, 'no numbered sections ("1. 目的") found')
    if not supplements:
        raise PolicyFormatError(0, "no supplementary provision (附則) with an effective date")
    return ParsedPolicy(title=title.strip(), body="\n\n".join(body_parts), supplements=supplements)


@transaction.atomic
def import_policy(parsed, *, code, kind, audience, author):
    """Create the document and one published revision per 附則; the latest whose date
    has come is in force and the earlier ones superseded."""
    document = PolicyDocument(code=code, title=parsed.title, kind=kind, audience=audience)
    document.full_clean()
    document.save()
    now = timezone.now()
    for index, supplement in enumerate(parsed.supplements):
        revision = PolicyRevision(
            document=document,
            number=index + 1,
            title=parsed.title,
            body=parsed.body_as_of(index),
            change_summary=f"{supplement.text}（公表済みの附則から取り込み）",
            effective_date=supplement.effective_date,
            # Past revisions are history: nobody is asked to acknowledge them again.
            is_material=False,
            status=RevisionStatus.PUBLISHED,
            author=author,
            published_by=author,
            published_at=now,
        )
        revision.content_sha256 = revision.compute_sha256()
        revision.save()
    activate_due_revisions(document_ids=[document.pk])
    audit.record(
        AuditAction.POLICY_IMPORTED,
        actor=author,
        target=document,
        data={"revisions": len(parsed.supplements)},
    )
    return document
