"""The policy review backlog moved to the core (isms.ReviewItem): every finding flagged for a
policy review, or already cited by a revision, becomes an item, and the revisions that
cited it (Finding.addressed_by) cite the item. Backwards, the citations return to the
findings and the findings' items go."""

from django.db import migrations
from django.db.models import Q

KIND = "audits.finding"


def findings_to_items(apps, schema_editor):
    Finding = apps.get_model("audits", "Finding")
    ReviewItem = apps.get_model("isms", "ReviewItem")
    Addressed = Finding.addressed_by.through
    Cited = ReviewItem.cited_by.through
    cited: dict[int, list[int]] = {}
    for finding_id, revision_id in Addressed.objects.values_list("finding_id", "policyrevision_id"):
        cited.setdefault(finding_id, []).append(revision_id)
    # A finding a revision cited stays on the record even if it was unflagged since, as
    # isms.review.withdraw_item keeps a cited item.
    findings = list(
        Finding.objects.filter(Q(needs_policy_review=True) | Q(pk__in=list(cited))).order_by("pk")
    )
    items = ReviewItem.objects.bulk_create(
        ReviewItem(
            source_kind=KIND,
            source_id=finding.pk,
            title=finding.title[:200],
            department_id=finding.department_id,
            link=f"/audits/findings/{finding.pk}/",
            raised_by_id=finding.created_by_id,
        )
        for finding in findings
    )
    # raised_at is auto_now_add: bulk_create stamped now; the finding's own date it is.
    for item, finding in zip(items, findings, strict=True):
        item.raised_at = finding.created_at
    ReviewItem.objects.bulk_update(items, ["raised_at"])
    Cited.objects.bulk_create(
        Cited(reviewitem_id=item.pk, policyrevision_id=revision_id)
        for item in items
        for revision_id in cited.get(item.source_id, [])
    )


def items_to_findings(apps, schema_editor):
    Finding = apps.get_model("audits", "Finding")
    ReviewItem = apps.get_model("isms", "ReviewItem")
    Addressed = Finding.addressed_by.through
    Cited = ReviewItem.cited_by.through
    rows = set(
        Cited.objects.filter(reviewitem__source_kind=KIND).values_list(
            "reviewitem__source_id", "policyrevision_id"
        )
    )
    Addressed.objects.bulk_create(
        Addressed(finding_id=finding_id, policyrevision_id=revision_id)
        for finding_id, revision_id in sorted(rows)
    )
    Cited.objects.filter(reviewitem__source_kind=KIND).delete()
    ReviewItem.objects.filter(source_kind=KIND).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0003_alter_evidence_file"),
        ("isms", "0016_review_backlog_csirt_emergency_plan"),
    ]

    operations = [
        migrations.RunPython(findings_to_items, items_to_findings),
        migrations.RemoveField(model_name="finding", name="addressed_by"),
    ]
