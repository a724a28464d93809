"""The policy review backlog (isms.models.ReviewItem), shared by every module that finds
something the policy should change: audit findings, incidents' lessons, risks.

A module registers its kind of source once (register_source, from its AppConfig.ready()),
saying who may read which of its records; it then raises and withdraws items through
raise_item() and withdraw_item(). The CISO's office cites items in a revision being
prepared (cite()); the backlog page and the revision's page show each person only the items
whose source they may read."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _

from . import audit
from .audit import AnyRequest, AuditAction
from .models import Department, PolicyRevision, ReviewItem, RevisionStatus, Role, User
from .roles import AnyUser, can_manage_policy, is_programme_office, reads_citywide


@dataclass(frozen=True)
class ReviewSource:
    kind: str  # the model label, "audits.finding"
    label: str  # what the backlog calls it, "Audit finding"
    # visible_ids(user): a queryset of the ids of the records of this kind the person may read.
    visible_ids: Callable[[AnyUser], QuerySet]


sources: dict[str, ReviewSource] = {}


def register_source(source: ReviewSource) -> None:
    sources[source.kind] = source


def kind_of(record: Model) -> str:
    return record._meta.label_lower


def source_label(kind: str) -> str:
    source = sources.get(kind)
    return str(source.label) if source else kind


def reads_backlog(user: AnyUser) -> bool:
    """The citywide readers (who run the audit programme and the review) and the CSIRT (who
    feed it the lessons of incidents)."""
    return reads_citywide(user) or (user.is_authenticated and user.has_global_role(Role.CSIRT))


def visible_items(user: AnyUser) -> QuerySet[ReviewItem]:
    """The items whose source the person may read: all of them for the CISO's office."""
    if not reads_backlog(user):
        return ReviewItem.objects.none()
    if is_programme_office(user):
        return ReviewItem.objects.all()
    readable = Q(pk__in=[])
    for source in sources.values():
        readable |= Q(source_kind=source.kind, source_id__in=source.visible_ids(user))
    return ReviewItem.objects.filter(readable)


@transaction.atomic
def raise_item(
    record: Model,
    *,
    title: str,
    link: str,
    by: User | None,
    department: Department | None = None,
    proposal: str = "",
    request: AnyRequest | None = None,
) -> ReviewItem:
    """Put `record` (or one of its proposals: a record may raise several) on the backlog."""
    kind = kind_of(record)
    if kind not in sources:
        raise ValueError(f"{kind} is not registered as a source of the policy review backlog")
    item = ReviewItem.objects.create(
        source_kind=kind,
        source_id=record.pk,
        title=title[:200],
        proposal=proposal,
        department=department,
        link=link,
        raised_by=by,
    )
    audit.record(AuditAction.REVIEW_ITEM_RAISED, actor=by, target=item, request=request)
    return item


def items_of(record: Model) -> QuerySet[ReviewItem]:
    return ReviewItem.objects.filter(source_kind=kind_of(record), source_id=record.pk)


@transaction.atomic
def withdraw_item(record: Model, *, by: User | None, request: AnyRequest | None = None) -> int:
    """Take the record's items off the backlog, those no revision cites: a cited item is
    part of the revision's record and stays."""
    withdrawn = 0
    for item in items_of(record).filter(cited_by__isnull=True):
        audit.record(AuditAction.REVIEW_ITEM_WITHDRAWN, actor=by, target=item, request=request)
        item.delete()
        withdrawn += 1
    return withdrawn


@transaction.atomic
def cite(
    revision: PolicyRevision,
    items: Iterable[ReviewItem],
    *,
    by: User,
    request: AnyRequest | None = None,
) -> PolicyRevision:
    """A policy revision names the backlog items it addresses (seed 8). Only while the
    revision is being prepared: a published record stays as it was."""
    if not can_manage_policy(by):
        raise PermissionDenied(_("Only the CISO's office links revisions to review items."))
    if revision.status in (RevisionStatus.PUBLISHED, RevisionStatus.SUPERSEDED):
        raise ValidationError(_("A published revision's citations cannot change."))
    cited = list(items)
    revision.review_items.add(*cited)
    audit.record(
        AuditAction.REVISION_REVIEW_ITEMS_CITED,
        actor=by,
        target=revision,
        request=request,
        data={"items": [item.pk for item in cited]},
    )
    return revision
