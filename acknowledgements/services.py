"""Acknowledging policy revisions, and who still has to."""

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, TypedDict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from isms import audit
from isms.audit import AuditAction
from isms.clientip import client_ip
from isms.exceptions import WorkflowError
from isms.models import (
    Audience,
    Department,
    DepartmentAncestor,
    PolicyDocument,
    PolicyRevision,
    Posting,
    RevisionStatus,
    User,
    subtree_ids,
)
from isms.notify import enqueue, mark_task_done
from isms.paging import GroupedPaginator
from isms.roles import AnyUser

from . import access, tasks
from .models import Acknowledgement, AcknowledgementCampaign, PersonalDeadline

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations
    from rest_framework.request import Request


class AsksForAcknowledgement(TypedDict):
    """The annotations of revision_to_acknowledge()."""

    asks: bool
    acknowledgement_id: int | None


class AcknowledgedAt(TypedDict):
    """The annotation of people_status(): when the person acknowledged, or None."""

    acknowledged_at: datetime.datetime | None


def open_campaign_on_publication(
    sender: object,
    revision: PolicyRevision,
    deadline: datetime.date | None = None,
    by: User | None = None,
    **kwargs: Any,
) -> AcknowledgementCampaign | None:
    """Receiver of isms.signals.revision_published: a material change asks its audience to
    acknowledge it again; an editorial one does not."""
    if not revision.is_material:
        return None
    # Only a revision that is in force, or will be: an older one published late is
    # superseded at once, and asking people to acknowledge it would ask the impossible.
    if not PolicyRevision.objects.get(pk=revision.pk).is_in_force_or_next():
        return None
    deadline = deadline or timezone.localdate() + datetime.timedelta(
        days=settings.ACKNOWLEDGEMENT_DEADLINE_DAYS
    )
    campaign, created = AcknowledgementCampaign.objects.get_or_create(
        revision=revision, defaults={"deadline": deadline, "opened_by": by}
    )
    if created:
        enqueue(tasks.notify_campaign_opened, campaign.pk)
        audit.record(
            AuditAction.CAMPAIGN_OPENED,
            actor=by,
            target=campaign,
            data={"revision": revision.pk, "deadline": deadline.isoformat()},
        )
    return campaign


@transaction.atomic
def change_deadline(
    revision_id: int,
    deadline: datetime.date | None,
    *,
    by: AnyUser,
    request: "HttpRequest | Request | None" = None,
) -> AcknowledgementCampaign:
    """Move the deadline of the campaign of revision `revision_id`. `deadline` is None when
    the date given was not one. Decided here, for the page and any other caller: who may
    (403) comes before which campaigns they see (404)."""
    if not access.can_change_deadline(by):
        raise PermissionDenied(_("Only the programme admin can change a deadline."))
    campaign = get_object_or_404(
        access.campaigns_visible_to(by).select_for_update(of=("self",)), revision_id=revision_id
    )
    if deadline is None:
        raise WorkflowError({"deadline": _("Enter a valid date.")})
    if campaign.revision.status != RevisionStatus.PUBLISHED:
        raise WorkflowError(_("The campaign of a superseded revision is closed."))
    if deadline < timezone.localdate():
        raise WorkflowError({"deadline": _("The deadline cannot lie in the past.")})
    old = campaign.deadline
    campaign.deadline = deadline
    campaign.save(update_fields=["deadline"])
    audit.record(
        AuditAction.CAMPAIGN_DEADLINE_CHANGED,
        actor=by,
        target=campaign,
        request=request,
        data={"from": old.isoformat(), "to": deadline.isoformat()},
    )
    return campaign


def in_audience_q(user: User, document_prefix: str = "revision__document__") -> Q:
    """Q for rows whose document concerns this person (seed 5: every member of staff), who
    belongs to a unit (pending_campaigns() asks for no one else). The units above theirs
    come from the ancestor table inside the same query: no read of the department tree."""
    assert user.section_id is not None
    through = PolicyDocument.audience_departments.through
    in_named_departments = through.objects.filter(
        policydocument_id=OuterRef(f"{document_prefix}pk"),
        department_id__in=DepartmentAncestor.objects.filter(unit_id=user.section_id).values(
            "ancestor_id"
        ),
    )
    return Q(**{f"{document_prefix}audience__in": [Audience.PUBLIC, Audience.ALL_STAFF]}) | (
        Q(**{f"{document_prefix}audience": Audience.DEPARTMENTS}) & Q(Exists(in_named_departments))
    )


def pending_campaigns(user: AnyUser) -> QuerySet[AcknowledgementCampaign]:
    """Open campaigns this person has not yet acknowledged: two joins, one query."""
    if not user.is_authenticated or not user.section_id or not user.is_active:
        return AcknowledgementCampaign.objects.none()
    acknowledged = Acknowledgement.objects.filter(user=user, revision_id=OuterRef("revision_id"))
    own_deadline = PersonalDeadline.objects.filter(user=user, campaign_id=OuterRef("pk")).values(
        "deadline"
    )[:1]
    return (
        AcknowledgementCampaign.objects.filter(revision__status=RevisionStatus.PUBLISHED)
        .filter(in_audience_q(user))
        .exclude(Exists(acknowledged))
        .select_related("revision__document")
        # The person's own deadline when they joined the audience late (PersonalDeadline).
        .annotate(due_on=Coalesce(Subquery(own_deadline), F("deadline")))
        .order_by("due_on", "pk")
    )


def give_late_joiners_their_own_deadline(
    sender: object, moves: list[tuple[int, int | None, int]], on: datetime.date, **kwargs: Any
) -> int:
    """Receiver of isms.signals.people_moved: people who joined the audience of an open
    campaign by joining the city or moving (not those who were in it before the move) get
    their own deadline, counted from the day of the move rather than the publication.
    Per open campaign: one query for who of the movers is in its audience now."""
    deadline = on + datetime.timedelta(days=settings.ACKNOWLEDGEMENT_DEADLINE_DAYS)
    old_unit = {user_id: old for user_id, old, _new in moves}
    ids = sorted(old_unit)
    created = 0
    for campaign in AcknowledgementCampaign.objects.filter(
        revision__status=RevisionStatus.PUBLISHED, deadline__lt=deadline
    ).select_related("revision__document"):
        document = campaign.revision.document
        was_in: set[int] | None = None  # None: the whole staff (every unit)
        if document.audience == Audience.DEPARTMENTS:
            was_in = set(
                subtree_ids(document.audience_departments.all()).values_list("unit_id", flat=True)
            )
        acknowledged = Acknowledgement.objects.filter(
            user_id=OuterRef("pk"), revision=campaign.revision
        )
        rows = []
        for start in range(0, len(ids), 5000):
            for user_id in (
                document.audience_members()
                .filter(pk__in=ids[start : start + 5000])
                .exclude(Exists(acknowledged))
                .values_list("pk", flat=True)
            ):
                old = old_unit[user_id]
                if old is not None and (was_in is None or old in was_in):
                    continue  # in the audience before the move: the campaign's deadline
                rows.append(
                    PersonalDeadline(
                        campaign=campaign, user_id=user_id, deadline=deadline, joined_on=on
                    )
                )
        created += len(PersonalDeadline.objects.bulk_create(rows, ignore_conflicts=True))
    return created


class NoSuchRevision(WorkflowError):
    """The revision does not exist, or the person may not read it: the same answer for both,
    so that nothing tells a draft or another department's document from a wrong number."""

    def __init__(self) -> None:
        # The API's field error, as DRF writes its own (the API speaks English).
        super().__init__({"revision": "No such revision."})


def revision_to_acknowledge(
    user: AnyUser, revision_id: int, *, with_body: bool = False
) -> "WithAnnotations[PolicyRevision, AsksForAcknowledgement] | None":
    """The revision `revision_id` with what acknowledging it turns on, in one query, or None
    if there is no such revision:

    - `asks`: an open campaign of it asks this person (the revision is published and its
      document concerns their unit), which also means they may read it;
    - `acknowledgement_id`: their acknowledgement of it, if they gave it already.

    The body, a long text, and the campaign are read only for the page that shows them."""
    revisions = PolicyRevision.objects.select_related("document").order_by()
    if with_body:
        revisions = revisions.select_related("campaign")
    else:
        revisions = revisions.defer("body")
    if user.is_authenticated and user.section_id and user.is_active:
        revisions = revisions.annotate(
            asks=RawSQL(_ASKS_SQL, [user.section_id], output_field=BooleanField()),
            acknowledgement_id=RawSQL(_ACKNOWLEDGEMENT_SQL, [user.pk], output_field=IntegerField()),
        )
    else:
        revisions = revisions.annotate(
            asks=Value(False), acknowledgement_id=Value(None, output_field=IntegerField())
        )
    return revisions.filter(pk=revision_id).first()


# revision_to_acknowledge()'s decision in plain SQL: the portal's busiest read, where the ORM
# spent more time building the query than the database running it. It states
# pending_campaigns() for one revision (a campaign, a published revision, a document whose
# audience is the whole staff or names a unit at or above the person's), and
# tests/test_hot_paths.py checks that the two agree for every persona and revision.
# "isms_policyrevision" and "isms_policydocument" are the outer query's own tables.
_ASKS_SQL = f"""
    isms_policyrevision.status = '{RevisionStatus.PUBLISHED.value}'
    AND EXISTS (
        SELECT 1 FROM {AcknowledgementCampaign._meta.db_table} campaign
        WHERE campaign.revision_id = isms_policyrevision.id
    )
    AND (
        isms_policydocument.audience IN ('{Audience.PUBLIC.value}', '{Audience.ALL_STAFF.value}')
        OR (
            isms_policydocument.audience = '{Audience.DEPARTMENTS.value}'
            AND EXISTS (
                SELECT 1
                FROM {PolicyDocument.audience_departments.through._meta.db_table} named
                JOIN {DepartmentAncestor._meta.db_table} above
                  ON above.ancestor_id = named.department_id
                WHERE named.policydocument_id = isms_policydocument.id
                  AND above.unit_id = %s
            )
        )
    )
"""
# At most one row: one acknowledgement per person and revision (the unique constraint).
_ACKNOWLEDGEMENT_SQL = f"""
    SELECT ack.id FROM {Acknowledgement._meta.db_table} ack
    WHERE ack.revision_id = isms_policyrevision.id AND ack.user_id = %s
"""


def acknowledge(
    user: User, revision: PolicyRevision | int, *, request: "HttpRequest | Request | None" = None
) -> tuple[Acknowledgement, bool]:
    """Record that `user` read `revision` (the revision or its id). Returns
    (acknowledgement, created).

    The hot path of the portal, the one write every member of staff makes: one read of the
    revision with its decision (revision_to_acknowledge), then the insert, the audit event
    and the reminders marked done, in one transaction. Pressing the button twice, or two
    requests racing, leaves one record: the unique constraint decides, not a read before
    the write, and the loser gets the winner's record back.

    Refuses with NoSuchRevision (no such revision, or one the person may not read),
    WorkflowError (a draft or superseded revision) or PermissionDenied (readable, but no
    campaign asks this person)."""
    revision_id = revision if isinstance(revision, int) else revision.pk
    found = revision_to_acknowledge(user, revision_id)
    if found is None:
        raise NoSuchRevision()
    if found.acknowledgement_id is not None:
        return _acknowledgement_of(user, found.acknowledgement_id), False
    if not found.asks:
        _refuse(user, found)
    ack = Acknowledgement(
        user=user,
        revision=found,
        # The time is the database's (acknowledged_at's default and trigger).
        content_sha256=found.content_sha256,
        ip_address=client_ip(request),
        user_agent=audit.user_agent(request),
    )
    try:
        with transaction.atomic():
            ack.save(force_insert=True)
            audit.record(
                AuditAction.REVISION_ACKNOWLEDGED,
                actor=user,
                target=found,
                request=request,
                data={"sha256": found.content_sha256, "acknowledgement": ack.pk},
            )
            if connection.vendor != "postgresql":
                # The reminders asking for it now read as done, and leave the badge. On
                # PostgreSQL the insert's trigger has done it (models.Acknowledgement).
                mark_task_done([user.pk], tasks.ack_task(revision_id))
    except IntegrityError:
        # A racing request recorded it first (the unique constraint): its record is the
        # answer. Anything else that broke the insert is not.
        winner = Acknowledgement.objects.filter(user=user, revision_id=revision_id).first()
        if winner is None:
            raise
        winner.user = user
        return winner, False
    return ack, True


def _acknowledgement_of(user: User, pk: int) -> Acknowledgement:
    ack = Acknowledgement.objects.get(pk=pk)
    ack.user = user
    return ack


def _refuse(user: User, revision: PolicyRevision) -> NoReturn:
    """Why `revision` does not ask `user` for an acknowledgement: the slow path, which may
    take a query or two more to choose the answer."""
    if not access.readable_revisions(user).filter(pk=revision.pk).exists():
        raise NoSuchRevision()
    if revision.status == RevisionStatus.SUPERSEDED:
        raise WorkflowError(_("This revision has been superseded; acknowledge the one in force."))
    if revision.status != RevisionStatus.PUBLISHED:
        raise WorkflowError(_("Only a published revision can be acknowledged."))
    raise PermissionDenied(_("This revision does not ask you for an acknowledgement."))


def last_acknowledged_before(user: User, revision: PolicyRevision) -> Acknowledgement | None:
    """The earlier revision of the same document this person last acknowledged, for the
    'what changed since you last read it' view."""
    return (
        Acknowledgement.objects.filter(
            user=user,
            revision__document_id=revision.document_id,
            revision__number__lt=revision.number,
        )
        .select_related("revision")
        .order_by("-revision__number")
        .first()
    )


@dataclass
class SectionStatus:
    section: Department
    total: int
    done: int

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


@dataclass
class DepartmentStatus:
    department: Department | None
    sections: list[SectionStatus] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.sections)

    @property
    def done(self) -> int:
        return sum(s.done for s in self.sections)

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def audience_in_scope(revision: PolicyRevision, viewer: AnyUser) -> QuerySet[User]:
    """Members of the revision's audience in the units the viewer oversees."""
    return revision.document.audience_members().filter(section__in=access.sections_in_scope(viewer))


def section_counts(
    revision: PolicyRevision, viewer: AnyUser, units: QuerySet[Department] | None = None
) -> dict[int, dict[str, int]]:
    """{section id: {"total": n, "done": m}}: the audience in the viewer's scope (and in
    `units`, if given) and how many of them acknowledged, in one aggregate over people."""
    people = audience_in_scope(revision, viewer)
    if units is not None:
        people = people.filter(section__in=units)
    rows = (
        people.annotate(
            ack=FilteredRelation(
                "acknowledgements", condition=Q(acknowledgements__revision=revision)
            )
        )
        .values("section_id")
        .annotate(total=Count("pk"), done=Count("ack__pk"))
        .order_by()
    )
    return {row["section_id"]: {"total": row["total"], "done": row["done"]} for row in rows}


def status_by_department(revision: PolicyRevision, viewer: AnyUser) -> list[DepartmentStatus]:
    """Per section counts of who has and has not acknowledged, grouped by department.

    Two queries whatever the number of staff: one aggregate over people, one for the
    sections' names."""
    return _grouped(section_counts(revision, viewer))


def status_on(
    revision: PolicyRevision, viewer: AnyUser, on: datetime.date
) -> list[DepartmentStatus]:
    """status_by_department() as it stood at the end of `on`: the people posted then
    (isms.models.Posting, leavers included, in the unit they were in that day) and the
    acknowledgements made by then. An acknowledgement status of last June counts last
    June's staff. One aggregate over the postings of that day, one for the sections."""
    end_of_day = timezone.make_aware(
        datetime.datetime.combine(on + datetime.timedelta(days=1), datetime.time.min)
    )
    postings = Posting.objects.on(on).filter(unit__in=access.sections_in_scope(viewer))
    document = revision.document
    if document.audience == Audience.DEPARTMENTS:
        postings = postings.filter(unit__in=subtree_ids(document.audience_departments.all()))
    acknowledged = Acknowledgement.objects.filter(
        user_id=OuterRef("user_id"), revision=revision, acknowledged_at__lt=end_of_day
    )
    rows = (
        postings.values("unit_id")
        .annotate(
            total=Count("user_id", distinct=True),
            done=Count("user_id", distinct=True, filter=Q(Exists(acknowledged))),
        )
        .order_by()
    )
    return _grouped({row["unit_id"]: row for row in rows})


def _grouped(counts: dict[int, Any]) -> list[DepartmentStatus]:
    """Per-section counts ({section id: {"total", "done"}}) grouped by department, in the
    city's order."""
    sections = Department.objects.filter(pk__in=counts).select_related("parent")
    grouped: dict[int | None, DepartmentStatus] = {}
    # Department-level units (a head's own office) first, then sections in the city's order.
    for section in sorted(
        sections, key=lambda s: (s.parent_id or 0, s.kind == "section", s.sort_order, s.code)
    ):
        parent = section.parent if section.kind == "section" else section
        group = grouped.setdefault(parent.pk if parent else None, DepartmentStatus(parent))
        row = counts[section.pk]
        group.sections.append(SectionStatus(section, row["total"], row["done"]))
    return list(grouped.values())


def people_status(
    revision: PolicyRevision, viewer: AnyUser
) -> "QuerySet[WithAnnotations[User, AcknowledgedAt]]":
    """People of the audience in the viewer's scope with the time they acknowledged (or
    None), ordered in SQL; the caller filters (filters.PeopleStatusFilter) and paginates."""
    acknowledged_at = Acknowledgement.objects.filter(
        user_id=OuterRef("pk"), revision=revision
    ).values("acknowledged_at")[:1]
    return (
        audience_in_scope(revision, viewer)
        .select_related("section")
        .annotate(acknowledged_at=Subquery(acknowledged_at))
        .order_by("section__sort_order", "section__code", "username")
    )


def people_pages(
    people: QuerySet[User],
    departments: list[DepartmentStatus],
    per_page: int,
    section: Department | None = None,
    state: str | None = None,
) -> GroupedPaginator:
    """Pages of people_status() filtered by `section` and `state` ("done", "pending" or
    None), counted from today's per-section figures (status_by_department(), of the same
    viewer and revision) instead of a count and a sort over every person in scope. In
    people_status()'s order: section by section, then by user name."""
    rows = sorted(
        (row for department in departments for row in department.sections),
        key=lambda row: (row.section.sort_order, row.section.code),
    )
    listed = state if state in ("done", "pending") else "total"
    groups = [
        (row.section.pk, getattr(row, listed))
        for row in rows
        if section is None or row.section.pk == section.pk
    ]
    return GroupedPaginator(
        people, groups, per_page, group_field="section_id", order_by=["username"]
    )


def pending_panel(request: HttpRequest) -> dict[str, Any]:
    """The home page's 'awaiting your acknowledgement' panel."""
    return {"pending": list(pending_campaigns(request.user)[:20]), "today": timezone.localdate()}
