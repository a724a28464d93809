"""Every action on an incident, one function each, shared by the pages and the API. Each
checks the person's right, writes the change, the incident's timeline and the audit trail
in one transaction, and queues what has to be sent once it commits."""

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from isms import audit, review
from isms import evidence as evidence_store
from isms.audit import AnyRequest, AuditAction
from isms.exceptions import WorkflowError
from isms.models import Department, User
from isms.notify import enqueue, mark_task_done
from isms.roles import AnyUser

from . import access, tasks
from .models import (
    SEVERITY_RANK,
    STAGE_ORDER,
    Attachment,
    Category,
    CountFrom,
    Decision,
    Drill,
    EntryKind,
    Incident,
    Lesson,
    Obligation,
    ObligationRule,
    ObligationStage,
    PostIncidentReview,
    StageStatus,
    Status,
    TimelineEntry,
)
from .reminders import report_task, triage_task

# The moves move() makes; triage, the review and reopening have their own functions, as
# each asks for more than a note.
MOVES: dict[str, set[str]] = {
    Status.REPORTED: {Status.DISMISSED},
    Status.TRIAGED: {Status.CONTAINED, Status.DISMISSED},
    Status.CONTAINED: {Status.ERADICATED},
    Status.ERADICATED: {Status.RECOVERED},
    Status.RECOVERED: {Status.CLOSED},
    Status.REVIEWED: {Status.CLOSED},
}


def _require_handler(by: User) -> None:
    if not access.handles(by):
        raise PermissionDenied(_("Only the CSIRT and the CISO's office handle incidents."))


def _entry(incident: Incident, by: User, kind: str, text: str) -> TimelineEntry:
    return TimelineEntry.objects.create(incident=incident, kind=kind, text=text, author=by)


def _locked(incident: Incident) -> Incident:
    """The incident's row, locked for the rest of the transaction: two people moving the
    same incident at once are served one after the other, the second against the first's
    result."""
    return Incident.objects.select_for_update().get(pk=incident.pk)


# --- reporting ---------------------------------------------------------------------------


@transaction.atomic
def report(
    by: User,
    *,
    title: str,
    occurred_at: datetime.datetime,
    department: Department,
    description: str = "",
    location: str = "",
    personal_data: bool = False,
    my_number: bool = False,
    files: Sequence[UploadedFile] = (),
    request: AnyRequest | None = None,
) -> Incident:
    """Anyone signed in reports what happened. The CSIRT is told once it is recorded."""
    if not access.reports(by):
        raise PermissionDenied(_("Sign in to report an incident."))
    if occurred_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"occurred_at": _("The time it happened cannot be in the future.")})
    incident = Incident.objects.create(
        title=title,
        description=description,
        occurred_at=occurred_at,
        department=department,
        location=location,
        personal_data=personal_data,
        my_number=my_number,
        reported_by=by,
    )
    incident.refresh_from_db(fields=["reported_at"])
    _entry(incident, by, EntryKind.DETECTION, description or title)
    for uploaded in files:
        evidence_store.store(Attachment(incident=incident, uploaded_by=by), uploaded)
    audit.record(
        AuditAction.INCIDENT_REPORTED,
        actor=by,
        target=incident,
        request=request,
        data={"personal_data": personal_data, "my_number": my_number},
    )
    enqueue(tasks.tell_csirt_of_report, incident.pk)
    return incident


@transaction.atomic
def attach(
    incident: Incident, uploaded: UploadedFile, *, by: User, request: AnyRequest | None = None
) -> Attachment:
    """The reporter adds files to their report while it is open; the handlers at any time."""
    own = incident.reported_by_id == by.pk and incident.is_open
    if not (own or access.handles(by)):
        raise PermissionDenied(_("You cannot add files to this incident."))
    attachment = evidence_store.store(Attachment(incident=incident, uploaded_by=by), uploaded)
    audit.record(
        AuditAction.EVIDENCE_ATTACHED,
        actor=by,
        target=incident,
        request=request,
        data={"sha256": attachment.sha256, "size": attachment.size},
    )
    return attachment


def can_download(user: User, attachment: Attachment) -> bool:
    return access.visible_incidents(user).filter(pk=attachment.incident_id).exists()


# --- handling ----------------------------------------------------------------------------


@transaction.atomic
def triage(
    incident: Incident,
    *,
    by: User,
    category: Category,
    severity: str,
    owner: User,
    network_tier: Any = None,
    affected_assets: Iterable[Any] = (),
    affected_people: int | None = None,
    detected_at: datetime.datetime | None = None,
    personal_data: bool | None = None,
    my_number: bool | None = None,
    note: str = "",
    request: AnyRequest | None = None,
) -> Incident:
    """The CSIRT classifies a reported incident (or corrects the classification of one
    being handled) and names its owner; the reporting obligations it now calls for appear
    with their clocks."""
    _require_handler(by)
    incident = _locked(incident)
    if not incident.is_open:
        raise WorkflowError(_("A closed or dismissed incident is reopened before it changes."))
    if not access.handles(owner) or not owner.is_active:
        raise ValidationError(
            {"owner": _("The owner is a member of the CSIRT or the CISO's office.")}
        )
    now = timezone.now()
    detected = detected_at or incident.detected_at or incident.reported_at
    if detected > now:
        raise ValidationError({"detected_at": _("Detection cannot be in the future.")})
    first = incident.status == Status.REPORTED
    incident.category = category
    incident.severity = severity
    incident.owner = owner
    incident.network_tier = network_tier
    incident.affected_people = affected_people
    incident.detected_at = detected
    if personal_data is not None:
        incident.personal_data = personal_data
    if my_number is not None:
        incident.my_number = my_number
    if first:
        incident.status = Status.TRIAGED
        incident.triaged_at = now
    incident.save()
    incident.affected_assets.set(list(affected_assets))
    _entry(
        incident,
        by,
        EntryKind.STATUS if first else EntryKind.DECISION,
        note or (_("Triaged.") if first else _("Classification changed.")),
    )
    audit.record(
        AuditAction.INCIDENT_TRIAGED,
        actor=by,
        target=incident,
        request=request,
        data={"category": category.code, "severity": severity, "owner": owner.username},
    )
    if first:
        mark_task_done(None, triage_task(incident.pk))
    match_obligations(incident)
    return incident


def rule_matches(rule: ObligationRule, incident: Incident, category_ids: set[int]) -> bool:
    if rule.if_personal_data and not incident.personal_data:
        return False
    if rule.if_my_number and not incident.my_number:
        return False
    if (
        rule.min_severity
        and SEVERITY_RANK.get(incident.severity, 0) < SEVERITY_RANK[rule.min_severity]
    ):
        return False
    if rule.min_affected_people is not None and (incident.affected_people or 0) < (
        rule.min_affected_people
    ):
        return False
    return not category_ids or incident.category_id in category_ids


def match_obligations(incident: Incident) -> list[Obligation]:
    """Add the obligations of every active rule the triaged incident now matches, each
    with its stages and their clocks. An obligation once found stays (the CSIRT marks it not
    required, with a reason, if the facts change)."""
    if incident.triaged_at is None:
        return []
    have = set(Obligation.objects.filter(incident=incident).values_list("rule_id", flat=True))
    added = []
    rules = ObligationRule.objects.filter(active=True).exclude(pk__in=have)
    for rule in rules.prefetch_related("categories", "stages"):
        if not rule_matches(rule, incident, {c.pk for c in rule.categories.all()}):
            continue
        obligation = Obligation.objects.create(incident=incident, rule=rule)
        ObligationStage.objects.bulk_create(
            ObligationStage(
                obligation=obligation,
                stage_rule=stage,
                name=stage.name,
                due_at=_clock_start(incident, stage.count_from, stage.days),
            )
            for stage in rule.stages.all()
        )
        added.append(obligation)
    return added


def _clock_start(incident: Incident, count_from: str, days: int) -> datetime.datetime | None:
    starts: dict[str, datetime.datetime | None] = {
        CountFrom.DETECTION: incident.detected_at or incident.reported_at,
        CountFrom.AWARENESS: incident.triaged_at,
    }
    start = starts.get(count_from)
    return start + datetime.timedelta(days=days) if start else None


@transaction.atomic
def move(
    incident: Incident,
    to: str,
    *,
    by: User,
    note: str = "",
    request: AnyRequest | None = None,
) -> Incident:
    """One step of the workflow: contained, eradicated, recovered, closed, or dismissed as a
    false alarm (with a reason). A serious incident is closed only after its review."""
    _require_handler(by)
    incident = _locked(incident)
    if to not in MOVES.get(incident.status, set()):
        raise WorkflowError(
            _("An incident that is %(status)s cannot be moved to %(to)s.")
            % {"status": incident.get_status_display(), "to": Status(to).label}
        )
    if to == Status.DISMISSED and not note.strip():
        raise ValidationError({"note": _("Say why this is a false alarm.")})
    if to == Status.CLOSED and incident.is_serious and incident.status != Status.REVIEWED:
        raise WorkflowError(_("A serious incident is closed only after its post-incident review."))
    was = incident.status
    incident.status = to
    if to == Status.DISMISSED:
        incident.dismissed_reason = note.strip()
    if to in (Status.CLOSED, Status.DISMISSED):
        incident.closed_at = timezone.now()
    incident.save()
    _entry(incident, by, EntryKind.STATUS, note or str(Status(to).label))
    if to == Status.DISMISSED:
        audit.record(
            AuditAction.INCIDENT_DISMISSED,
            actor=by,
            target=incident,
            request=request,
            data={"from": was, "reason": incident.dismissed_reason},
        )
    else:
        audit.record(
            AuditAction.INCIDENT_MOVED,
            actor=by,
            target=incident,
            request=request,
            data={"from": was, "to": to},
        )
    if to == Status.DISMISSED:
        mark_task_done(None, triage_task(incident.pk))
    return incident


@transaction.atomic
def reopen(
    incident: Incident, *, by: User, reason: str, request: AnyRequest | None = None
) -> Incident:
    """A closed or dismissed incident is handled again, for a reason that goes on its
    timeline: back to triaged if it had been triaged, to reported otherwise."""
    _require_handler(by)
    incident = _locked(incident)
    if incident.status not in (Status.CLOSED, Status.DISMISSED):
        raise WorkflowError(_("Only a closed or dismissed incident is reopened."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the incident is reopened.")})
    was = incident.status
    incident.status = Status.TRIAGED if incident.triaged_at else Status.REPORTED
    incident.closed_at = None
    incident.dismissed_reason = ""
    incident.save()
    _entry(incident, by, EntryKind.STATUS, reason.strip())
    audit.record(
        AuditAction.INCIDENT_REOPENED,
        actor=by,
        target=incident,
        request=request,
        data={"from": was, "reason": reason.strip()},
    )
    return incident


@transaction.atomic
def add_entry(incident: Incident, *, by: User, kind: str, text: str) -> TimelineEntry:
    """A line of the timeline: what was detected, done, decided or said, and to whom."""
    _require_handler(by)
    if kind not in (
        EntryKind.DETECTION,
        EntryKind.ACTION,
        EntryKind.DECISION,
        EntryKind.COMMUNICATION,
    ):
        raise ValidationError({"kind": _("Choose what kind of entry this is.")})
    if not text.strip():
        raise ValidationError({"text": _("Write the entry.")})
    return _entry(incident, by, kind, text.strip())


# --- reporting obligations -----------------------------------------------------------------


@transaction.atomic
def decide(
    obligation: Obligation,
    decision: str,
    *,
    by: User,
    reason: str = "",
    request: AnyRequest | None = None,
) -> Obligation:
    """Whether the report is required; "not required" needs a reason. A report already
    sent is not taken back."""
    _require_handler(by)
    obligation = Obligation.objects.select_for_update().get(pk=obligation.pk)
    if decision not in (Decision.REQUIRED, Decision.NOT_REQUIRED):
        raise ValidationError({"decision": _("Choose whether the report is required.")})
    if decision == Decision.NOT_REQUIRED:
        if not reason.strip():
            raise ValidationError({"reason": _("Say why the report is not required.")})
        if obligation.stages.filter(
            status__in=[StageStatus.SENT, StageStatus.ACKNOWLEDGED]
        ).exists():
            raise WorkflowError(_("A report already sent cannot be marked not required."))
    obligation.decision = decision
    obligation.reason = reason.strip()
    obligation.decided_by = by
    obligation.decided_at = timezone.now()
    obligation.save()
    _entry(
        obligation.incident,
        by,
        EntryKind.DECISION,
        f"{obligation.rule}: {Decision(decision).label}"
        + (f" — {reason.strip()}" if reason else ""),
    )
    audit.record(
        AuditAction.OBLIGATION_STAGE_CHANGED,
        actor=by,
        target=obligation,
        request=request,
        data={"status": decision, "reason": reason.strip()},
    )
    if decision == Decision.NOT_REQUIRED:
        for stage_id in obligation.stages.values_list("pk", flat=True):
            mark_task_done(None, report_task(stage_id))
    return obligation


@transaction.atomic
def advance_stage(
    stage: ObligationStage,
    status: str,
    *,
    by: User,
    note: str = "",
    request: AnyRequest | None = None,
) -> ObligationStage:
    """A report moves forward: drafted, sent, acknowledged by the authority. Sending it
    stops its clock (and its reminders) and starts the next stage's if that one counts from
    this. The obligation is then required, if it was still being assessed."""
    _require_handler(by)
    stage = (
        ObligationStage.objects.select_for_update().select_related("obligation").get(pk=stage.pk)
    )
    obligation = stage.obligation
    if obligation.decision == Decision.NOT_REQUIRED:
        raise WorkflowError(_("This report was marked not required."))
    if status not in STAGE_ORDER or STAGE_ORDER.index(status) <= STAGE_ORDER.index(stage.status):
        raise WorkflowError(
            _("A report that is %(status)s cannot go back or stay.")
            % {"status": stage.get_status_display()}
        )
    earlier = obligation.stages.filter(
        stage_rule__order__lt=stage.stage_rule.order,
        status__in=[StageStatus.PENDING, StageStatus.DRAFTED],
    )
    if status in (StageStatus.SENT, StageStatus.ACKNOWLEDGED) and earlier.exists():
        raise WorkflowError(_("The earlier report is sent first."))
    now = timezone.now()
    stage.status = status
    if status in (StageStatus.SENT, StageStatus.ACKNOWLEDGED) and stage.sent_at is None:
        stage.sent_at = now
    if status == StageStatus.ACKNOWLEDGED:
        stage.acknowledged_at = now
    if note:
        stage.note = note
    stage.save()
    if obligation.decision == Decision.ASSESSED:
        obligation.decision = Decision.REQUIRED
        obligation.decided_by = by
        obligation.decided_at = now
        obligation.save(update_fields=["decision", "decided_by", "decided_at"])
    if stage.sent_at == now:
        mark_task_done(None, report_task(stage.pk))
        # Only the very next stage counts from this one.
        following = (
            obligation.stages.filter(stage_rule__order__gt=stage.stage_rule.order)
            .select_related("stage_rule")
            .order_by("stage_rule__order")
            .first()
        )
        if (
            following is not None
            and following.stage_rule.count_from == CountFrom.PREVIOUS
            and following.due_at is None
        ):
            following.due_at = now + datetime.timedelta(days=following.stage_rule.days)
            following.save(update_fields=["due_at"])
    _entry(
        obligation.incident,
        by,
        EntryKind.COMMUNICATION,
        f"{obligation.rule} — {stage.name}: {StageStatus(status).label}"
        + (f" — {note}" if note else ""),
    )
    audit.record(
        AuditAction.OBLIGATION_STAGE_CHANGED,
        actor=by,
        target=obligation,
        request=request,
        data={"stage": stage.name, "status": status},
    )
    return stage


# --- lessons learnt ----------------------------------------------------------------------


@transaction.atomic
def record_review(
    incident: Incident,
    *,
    by: User,
    causes: str,
    what_worked: str = "",
    changes: Sequence[tuple[str, bool]] = (),
    request: AnyRequest | None = None,
) -> PostIncidentReview:
    """The post-incident review of a recovered incident: its causes, what worked, and what
    to change; each change marked for the policy review goes to the core's backlog. The
    incident is then reviewed, and may be closed."""
    _require_handler(by)
    incident = _locked(incident)
    if incident.status != Status.RECOVERED:
        raise WorkflowError(_("An incident is reviewed once it has recovered."))
    if not causes.strip():
        raise ValidationError({"causes": _("Write the causes.")})
    changes = [(text.strip(), flag) for text, flag in changes if text.strip()]
    if incident.is_serious and not changes:
        raise ValidationError({"changes": _("Say what to change after a serious incident.")})
    try:
        with transaction.atomic():
            post_review = PostIncidentReview.objects.create(
                incident=incident,
                causes=causes.strip(),
                what_worked=what_worked.strip(),
                reviewed_by=by,
            )
    except IntegrityError:
        raise WorkflowError(_("This incident has been reviewed already.")) from None
    for text, to_policy_review in changes:
        lesson = Lesson.objects.create(
            review=post_review, change=text, to_policy_review=to_policy_review
        )
        if to_policy_review:
            review.raise_item(
                lesson,
                title=f"{incident.number}: {text}",
                proposal=text,
                link=f"/incidents/{incident.pk}/",
                department=incident.department,
                by=by,
                request=request,
            )
    incident.status = Status.REVIEWED
    incident.save(update_fields=["status"])
    _entry(incident, by, EntryKind.STATUS, _("Post-incident review recorded."))
    audit.record(
        AuditAction.INCIDENT_REVIEWED,
        actor=by,
        target=incident,
        request=request,
        data={"changes": len(changes), "to_policy_review": sum(1 for _t, f in changes if f)},
    )
    return post_review


def lesson_ids_visible_to(user: AnyUser) -> QuerySet[Lesson, Any]:
    """The source rule of the policy review backlog: the lessons of the incidents the person
    may read."""
    return Lesson.objects.filter(review__incident__in=access.visible_incidents(user)).values("pk")


# --- the emergency response plan ---------------------------------------------------------


@transaction.atomic
def record_drill(
    *,
    by: User,
    held_on: datetime.date,
    scenario: str,
    participants: str,
    lessons: str = "",
    request: AnyRequest | None = None,
) -> Drill:
    _require_handler(by)
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": _("Record a drill once it has been held.")})
    drill = Drill.objects.create(
        held_on=held_on,
        scenario=scenario,
        participants=participants,
        lessons=lessons,
        recorded_by=by,
    )
    audit.record(AuditAction.DRILL_RECORDED, actor=by, target=drill, request=request)
    return drill
