"""The revision workflow: draft -> in review -> approved -> published -> superseded.

Views and the API call these functions and nothing else to change a revision: each checks
who may act, changes the state, and writes the audit trail in one transaction.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit, second_factor
from .audit import AnyRequest, AuditAction
from .exceptions import WorkflowError
from .models import Audience, PolicyDocument, PolicyRevision, RevisionStatus, User
from .roles import can_approve_revision, can_manage_policy, can_publish_revision
from .signals import revision_published

EDITABLE_FIELDS = ("title", "body", "change_summary", "effective_date", "is_material")


@transaction.atomic
def create_draft(
    document: PolicyDocument, *, by: User, request: AnyRequest | None = None, **fields: Any
) -> PolicyRevision:
    if not can_manage_policy(by):
        raise PermissionDenied(_("Only the CISO's office can draft policy revisions."))
    current = document.current_revision() or document.revisions.order_by("-number").first()
    values = {
        "title": current.title if current else document.title,
        "body": current.body if current else "",
        "change_summary": "",
        "effective_date": None,
        "is_material": True,
    }
    values.update({k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    revision = PolicyRevision.objects.create(document=document, author=by, **values)
    audit.record(AuditAction.REVISION_DRAFTED, actor=by, target=revision, request=request)
    return revision


@transaction.atomic
def update_draft(
    revision: PolicyRevision, *, by: User, request: AnyRequest | None = None, **fields: Any
) -> PolicyRevision:
    revision = _locked(revision)
    if not can_manage_policy(by):
        raise PermissionDenied(_("Only the CISO's office can edit policy revisions."))
    if not revision.is_editable:
        raise WorkflowError(_("Only a draft can be edited."))
    changed = []
    for name, value in fields.items():
        if name in EDITABLE_FIELDS and getattr(revision, name) != value:
            setattr(revision, name, value)
            changed.append(name)
    if changed:
        revision.save()
        audit.record(
            AuditAction.REVISION_EDITED,
            actor=by,
            target=revision,
            request=request,
            data={"fields": changed},
        )
    return revision


@transaction.atomic
def submit_for_review(
    revision: PolicyRevision, *, by: User, request: AnyRequest | None = None
) -> PolicyRevision:
    revision = _locked(revision)
    if not can_manage_policy(by):
        raise PermissionDenied(_("Only the CISO's office can submit policy revisions."))
    _expect(revision, RevisionStatus.DRAFT, _("Only a draft can be submitted for review."))
    _check_ready(revision)
    revision.status = RevisionStatus.IN_REVIEW
    revision.submitted_at = timezone.now()
    revision.save()
    audit.record(AuditAction.REVISION_SUBMITTED, actor=by, target=revision, request=request)
    return revision


@transaction.atomic
def return_to_draft(
    revision: PolicyRevision, *, by: User, reason: str, request: AnyRequest | None = None
) -> PolicyRevision:
    revision = _locked(revision)
    if not can_manage_policy(by):
        raise PermissionDenied(_("Only the CISO's office can return policy revisions."))
    if revision.status not in (RevisionStatus.IN_REVIEW, RevisionStatus.APPROVED):
        raise WorkflowError(_("Only a revision in review or approved can be returned."))
    if not (reason or "").strip():
        raise WorkflowError({"reason": _("Say why the revision is returned.")})
    revision.status = RevisionStatus.DRAFT
    revision.approved_by = None
    revision.approved_at = None
    revision.save()
    audit.record(
        AuditAction.REVISION_RETURNED,
        actor=by,
        target=revision,
        request=request,
        data={"reason": reason},
    )
    return revision


@transaction.atomic
def approve(
    revision: PolicyRevision, *, by: User, request: AnyRequest | None = None
) -> PolicyRevision:
    revision = _locked(revision)
    if not can_manage_policy(by):
        raise PermissionDenied(_("Only the CISO or the programme admin can approve revisions."))
    if not can_approve_revision(by, revision):
        raise PermissionDenied(_("The author of a revision cannot approve it."))
    _expect(revision, RevisionStatus.IN_REVIEW, _("Only a revision in review can be approved."))
    revision.status = RevisionStatus.APPROVED
    revision.approved_by = by
    revision.approved_at = timezone.now()
    revision.save()
    audit.record(AuditAction.REVISION_APPROVED, actor=by, target=revision, request=request)
    return revision


@transaction.atomic
def publish(
    revision: PolicyRevision,
    *,
    by: User,
    deadline: datetime.date | None = None,
    request: AnyRequest | None = None,
) -> PolicyRevision:
    revision = _locked(revision)
    _check_publishable(revision, by=by, deadline=deadline, request=request)
    assert revision.effective_date is not None  # _check_ready() refuses a revision without one
    revision.status = RevisionStatus.PUBLISHED
    revision.published_by = by
    revision.published_at = timezone.now()
    revision.content_sha256 = revision.compute_sha256()
    revision.save()
    audit.record(
        AuditAction.REVISION_PUBLISHED,
        actor=by,
        target=revision,
        request=request,
        data={
            "sha256": revision.content_sha256,
            "effective_date": revision.effective_date.isoformat(),
            "material": revision.is_material,
        },
    )
    # Supersede first, so that what hears of the publication sees what is in force.
    activate_due_revisions(document_ids=[revision.document_id])
    revision_published.send(sender=PolicyRevision, revision=revision, deadline=deadline, by=by)
    return revision


@dataclass(frozen=True)
class PublicationPreview:
    """What publishing a revision will do, for the confirmation page."""

    revision: PolicyRevision
    audience: str  # an Audience value
    departments: list[str]  # the named departments, for Audience.DEPARTMENTS
    people: int  # active members of staff in the audience
    in_force_at_once: bool
    # The acknowledgement deadline, or None for an editorial change nobody is asked to
    # acknowledge.
    deadline: datetime.date | None


def publication_preview(
    revision: PolicyRevision,
    *,
    by: User,
    deadline: datetime.date | None = None,
    request: AnyRequest | None = None,
) -> PublicationPreview:
    """The checks of publish(), step-up included, and what it would do; changes nothing.

    The confirmation step asks for the second factor before it shows what will happen, so
    the person confirms once and is not sent away between "confirm" and "published"."""
    revision = PolicyRevision.objects.select_related("document").get(pk=revision.pk)
    _check_publishable(revision, by=by, deadline=deadline, request=request)
    assert revision.effective_date is not None  # _check_ready() refuses a revision without one
    document = revision.document
    today = timezone.localdate()
    departments = []
    if document.audience == Audience.DEPARTMENTS:
        departments = list(
            document.audience_departments.order_by("code").values_list("name", flat=True)
        )
    return PublicationPreview(
        revision=revision,
        audience=document.audience,
        departments=departments,
        people=document.audience_members().count(),
        in_force_at_once=revision.effective_date <= today,
        # The same default as the acknowledgements app's receiver of revision_published.
        deadline=(
            deadline or today + datetime.timedelta(days=settings.ACKNOWLEDGEMENT_DEADLINE_DAYS)
        )
        if revision.is_material
        else None,
    )


def activate_due_revisions(
    today: datetime.date | None = None, document_ids: Iterable[int] | None = None
) -> int:
    """Supersede every published revision older than the one now in force.

    A revision published ahead of its effective date stays "published, not yet in force"
    until that date; this runs at publication and on a schedule, and does nothing the second
    time (only still-published rows are touched)."""
    today = today or timezone.localdate()
    in_force = PolicyRevision.objects.filter(
        status=RevisionStatus.PUBLISHED, effective_date__lte=today
    )
    if document_ids is not None:
        in_force = in_force.filter(document_id__in=document_ids)
    superseded = 0
    # One row per document with something in force: few documents, so a loop is fine here.
    current_by_document: dict[int, PolicyRevision] = {}
    for revision in in_force.order_by("document_id", "effective_date", "number"):
        current_by_document[revision.document_id] = revision
    for current in current_by_document.values():
        with transaction.atomic():
            older = list(
                PolicyRevision.objects.select_for_update()
                .filter(document_id=current.document_id, status=RevisionStatus.PUBLISHED)
                .filter(
                    Q(effective_date__lt=current.effective_date)
                    | Q(effective_date=current.effective_date, number__lt=current.number)
                )
            )
            for old in older:
                PolicyRevision.objects.filter(pk=old.pk).update(
                    status=RevisionStatus.SUPERSEDED, superseded_at=timezone.now()
                )
                audit.record(
                    AuditAction.REVISION_SUPERSEDED, target=old, data={"superseded_by": current.pk}
                )
            superseded += len(older)
    return superseded


def _locked(revision: PolicyRevision) -> PolicyRevision:
    # Two people pressing "publish" at once must not publish twice.
    return PolicyRevision.objects.select_for_update().select_related("document").get(pk=revision.pk)


def _check_publishable(
    revision: PolicyRevision,
    *,
    by: User,
    deadline: datetime.date | None,
    request: AnyRequest | None,
) -> None:
    if not can_publish_revision(by):
        raise PermissionDenied(_("Only the programme admin can publish revisions."))
    # Publishing now or ahead of the effective date alike: a step-up (isms.second_factor).
    second_factor.require_recent(request, by)
    _expect(revision, RevisionStatus.APPROVED, _("Only an approved revision can be published."))
    _check_ready(revision)
    if deadline is not None and deadline < timezone.localdate():
        raise WorkflowError({"deadline": _("The acknowledgement deadline cannot lie in the past.")})


def _expect(revision: PolicyRevision, status: str, message: str) -> None:
    if revision.status != status:
        raise WorkflowError(message)


def _check_ready(revision: PolicyRevision) -> None:
    """Numbers and effective dates of a document's published revisions rise together, so
    the latest published revision is always the one in force or the next one.

    A draft older than a published revision is refused rather than renumbered: its number
    is what its reviewers approved and what the audit trail names, and a renumbered text
    would read as a newer policy than the one actually in force. Its author drafts a new
    revision from the one in force instead."""
    errors: dict[str, str] = {}
    if not revision.body.strip():
        errors["body"] = _("The revision has no text.")
    published = revision.document.revisions.filter(
        status__in=(RevisionStatus.PUBLISHED, RevisionStatus.SUPERSEDED)
    ).exclude(pk=revision.pk)
    newer = published.filter(number__gt=revision.number).order_by("-number").first()
    if newer is not None:
        errors["number"] = _(
            "Revision %(number)s of this document has already been published; an older "
            "revision cannot be published after it. Draft a new revision instead."
        ) % {"number": newer.number}
    if revision.effective_date is None:
        errors["effective_date"] = _("Set the effective date (施行日).")
    else:
        current = revision.document.current_revision()
        latest = (
            published.filter(status=RevisionStatus.PUBLISHED)
            .order_by("-effective_date", "-number")
            .first()
        )
        if current and revision.effective_date < current.effective_date:
            errors["effective_date"] = _(
                "The effective date cannot be earlier than that of the revision in force "
                "(%(date)s)."
            ) % {"date": current.effective_date.isoformat()}
        elif latest and revision.effective_date < latest.effective_date:
            errors["effective_date"] = _(
                "The effective date cannot be earlier than that of revision %(number)s, "
                "already published to come into force on %(date)s."
            ) % {"number": latest.number, "date": latest.effective_date.isoformat()}
    if errors:
        raise WorkflowError(errors)
