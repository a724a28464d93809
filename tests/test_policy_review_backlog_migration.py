"""The policy review backlog left audits for the core: a database holding findings flagged
for a policy review, and the revisions that cited them (Finding.addressed_by), migrates
across the move without losing a finding from the backlog or a citation, and back again
(audits 0004)."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audits.models import Finding
from isms.models import ReviewItem

BEFORE = ("audits", "0003_alter_evidence_file")
SHA = "a" * 64
RECORDED = datetime.datetime(2025, 6, 2, 1, 30, tzinfo=datetime.UTC)

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def before_the_move():
    return [node for node in latest() if node[0] != "audits"] + [BEFORE]


@pytest.fixture
def old_database():
    """The schema as it was before the move; migrated forward again whatever the test
    does, so the next test finds the present schema."""
    apps = migrate(before_the_move())
    try:
        yield apps
    finally:
        migrate(latest())


def fill(apps):
    """Findings of every kind the move meets, written with the models of the time:
    {name: finding}, and the two revisions."""
    User = apps.get_model("isms", "User")
    Department = apps.get_model("isms", "Department")
    Document = apps.get_model("isms", "PolicyDocument")
    Revision = apps.get_model("isms", "PolicyRevision")
    Checklist = apps.get_model("audits", "ChecklistVersion")
    Cycle = apps.get_model("audits", "Cycle")
    OldFinding = apps.get_model("audits", "Finding")
    auditor = User.objects.create(username="auditor_of_the_time")
    admin = User.objects.create(username="admin_of_the_time")
    somu = Department.objects.create(code="somu-old", name="総務部", kind="department")
    kyoiku = Department.objects.create(code="kyoiku-old", name="教育部", kind="department")
    document = Document.objects.create(
        code="standard-old", title="対策基準", kind="standard", audience="all_staff"
    )
    published = Revision.objects.create(
        document=document,
        number=1,
        title="対策基準",
        body="本文",
        status="published",
        content_sha256=SHA,
        author=admin,
    )
    draft = Revision.objects.create(
        document=document, number=2, title="対策基準", body="改定案", status="draft", author=admin
    )
    cycle = Cycle.objects.create(
        name="令和7年度 自己点検",
        kind="self_inspection",
        fiscal_year=2025,
        checklist=Checklist.objects.create(name="チェックリスト", version=1),
        starts_on=datetime.date(2025, 6, 1),
        due_on=datetime.date(2025, 7, 31),
        created_by=admin,
    )

    def finding(title, department, flagged, by):
        made = OldFinding.objects.create(
            cycle=cycle,
            department=department,
            area="assets",
            title=title,
            severity="minor",
            description="…",
            needs_policy_review=flagged,
            created_by=by,
        )
        OldFinding.objects.filter(pk=made.pk).update(created_at=RECORDED)
        return made

    findings = {
        "cited": finding("引用された所見", somu, True, auditor),
        "flagged": finding("見直し待ちの所見", kyoiku, True, admin),
        # Cited, then unflagged by the auditor: the citation is the revision's record.
        "cited_unflagged": finding("引用後に外された所見", somu, False, auditor),
        "plain": finding("見直し不要の所見", somu, False, auditor),
    }
    findings["cited"].addressed_by.add(draft, published)
    findings["cited_unflagged"].addressed_by.add(draft)
    return findings, draft, published


def test_every_flagged_or_cited_finding_is_on_the_backlog_with_its_citations_after_the_move(
    old_database,
):
    findings, draft, published = fill(old_database)

    migrate(latest())

    items = {item.source_id: item for item in ReviewItem.objects.all()}
    assert set(items) == {findings[key].pk for key in ("cited", "flagged", "cited_unflagged")}
    for key, old in findings.items():
        if key == "plain":
            continue
        item = items[old.pk]
        assert item.source_kind == "audits.finding"
        assert (item.title, item.link) == (old.title, f"/audits/findings/{old.pk}/")
        assert (item.department_id, item.raised_by_id) == (old.department_id, old.created_by_id)
        assert item.raised_at == RECORDED
    cited = {
        key: set(items[findings[key].pk].cited_by.values_list("pk", flat=True))
        for key in findings
        if key != "plain"
    }
    assert cited == {
        "cited": {draft.pk, published.pk},
        "flagged": set(),
        "cited_unflagged": {draft.pk},
    }
    # The auditor's flag itself stays with the finding.
    assert set(Finding.objects.filter(needs_policy_review=True).values_list("pk", flat=True)) == {
        findings["cited"].pk,
        findings["flagged"].pk,
    }


def test_going_back_returns_the_citations_to_the_findings_and_takes_their_items_away(
    old_database,
):
    findings, draft, published = fill(old_database)
    migrate(latest())

    apps = migrate(before_the_move())

    OldFinding = apps.get_model("audits", "Finding")
    addressed = {
        key: set(OldFinding.objects.get(pk=old.pk).addressed_by.values_list("pk", flat=True))
        for key, old in findings.items()
    }
    assert addressed == {
        "cited": {draft.pk, published.pk},
        "flagged": set(),
        "cited_unflagged": {draft.pk},
        "plain": set(),
    }
    assert (
        not apps.get_model("isms", "ReviewItem")
        .objects.filter(source_kind="audits.finding")
        .exists()
    )
