"""The incident workflow: reported → triaged → contained → eradicated → recovered →
reviewed → closed, or dismissed as a false alarm with a reason; every step through one
service function, permitted to the CSIRT and the CISO's office only; reopening needs a
reason; a serious incident closes only after its post-incident review, whose lessons go to
the core's policy review backlog; the timeline is append-only in the model layer and in
PostgreSQL."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.utils import InternalError
from django.utils import timezone

from incidents import services
from incidents.models import Category, EntryKind, Incident, Severity, Status, TimelineEntry
from isms import review
from isms.exceptions import ImmutableRecordError, WorkflowError
from isms.models import AuditEvent, ReviewItem

from .factories import UserFactory
from .incident_helpers import csirt_fixture  # noqa: F401


@pytest.fixture
def reported(people, org):
    return services.report(
        people["staff"],
        title="USBメモリを紛失",
        occurred_at=timezone.now() - datetime.timedelta(hours=3),
        department=org["joho"],
        personal_data=True,
    )


def triage(incident, by, *, severity=Severity.MEDIUM, owner=None):
    return services.triage(
        incident,
        by=by,
        category=Category.objects.get(code="mistake"),
        severity=severity,
        owner=owner or by,
    )


def walk_to_recovered(incident, by):
    for step in (Status.CONTAINED, Status.ERADICATED, Status.RECOVERED):
        incident = services.move(incident, step, by=by)
    return incident


def test_a_report_starts_reported_with_its_detection_on_the_timeline(reported, people):
    assert reported.status == Status.REPORTED
    entry = reported.timeline.get()
    assert (entry.kind, entry.author) == (EntryKind.DETECTION, people["staff"])
    assert AuditEvent.objects.filter(
        action="incident.reported", target_id=str(reported.pk)
    ).exists()


def test_a_person_with_no_other_rights_can_report(org):
    nobody = UserFactory(username="newcomer", section=org["gakko"])
    incident = services.report(
        nobody,
        title="誤送信",
        occurred_at=timezone.now(),
        department=org["gakko"],
    )
    assert incident.reported_by == nobody


def test_a_report_dated_in_the_future_is_refused_and_nothing_is_written(people, org):
    with pytest.raises(ValidationError) as refused:
        services.report(
            people["staff"],
            title="x",
            occurred_at=timezone.now() + datetime.timedelta(days=1),
            department=org["joho"],
        )
    assert "occurred_at" in refused.value.message_dict
    assert not Incident.objects.exists()


@pytest.mark.parametrize("role", ["csirt", "ciso", "admin"])
def test_the_csirt_and_the_cisos_office_walk_an_incident_to_closed(reported, people, csirt, role):
    handler = csirt if role == "csirt" else people[role]
    incident = walk_to_recovered(triage(reported, handler), handler)
    incident = services.move(incident, Status.CLOSED, by=handler)
    assert incident.status == Status.CLOSED and incident.closed_at is not None
    statuses = list(incident.timeline.filter(kind=EntryKind.STATUS).values_list("text", flat=True))
    assert len(statuses) == 5  # triaged, contained, eradicated, recovered, closed


@pytest.mark.parametrize("role", ["staff", "chief", "head", "other_head", "auditor"])
def test_no_one_else_may_move_an_incident(reported, people, csirt, role):
    with pytest.raises(PermissionDenied):
        triage(reported, people[role], owner=csirt)
    with pytest.raises(PermissionDenied):
        services.move(reported, Status.DISMISSED, by=people[role], note="誤報")
    reported.refresh_from_db()
    assert reported.status == Status.REPORTED


@pytest.mark.parametrize(
    "status_path, to",
    [
        ([], Status.CONTAINED),  # reported: triage first
        ([], Status.CLOSED),
        ([Status.CONTAINED], Status.RECOVERED),  # a step skipped
        ([Status.CONTAINED], Status.DISMISSED),  # handled: no longer a false alarm
        ([Status.CONTAINED, Status.ERADICATED], Status.TRIAGED),  # backwards
    ],
)
def test_a_move_out_of_order_is_refused(reported, csirt, status_path, to):
    incident = reported
    if status_path:
        incident = triage(incident, csirt)
        for step in status_path:
            incident = services.move(incident, step, by=csirt)
    before = incident.status
    with pytest.raises(WorkflowError):
        services.move(incident, to, by=csirt)
    incident.refresh_from_db()
    assert incident.status == before


def test_dismissing_needs_a_reason_which_the_incident_keeps(reported, csirt):
    with pytest.raises(ValidationError) as refused:
        services.move(reported, Status.DISMISSED, by=csirt, note="  ")
    assert "note" in refused.value.message_dict
    incident = services.move(reported, Status.DISMISSED, by=csirt, note="正規の更新通知だった")
    assert (incident.status, incident.dismissed_reason) == (
        Status.DISMISSED,
        "正規の更新通知だった",
    )


def test_reopening_needs_a_reason_and_goes_back_to_where_handling_stood(reported, csirt):
    dismissed = services.move(reported, Status.DISMISSED, by=csirt, note="誤報")
    with pytest.raises(ValidationError):
        services.reopen(dismissed, by=csirt, reason="")
    again = services.reopen(dismissed, by=csirt, reason="同じ端末で再発した")
    assert again.status == Status.REPORTED and again.dismissed_reason == ""
    closed = services.move(walk_to_recovered(triage(again, csirt), csirt), Status.CLOSED, by=csirt)
    reopened = services.reopen(closed, by=csirt, reason="追加の漏えいが判明")
    assert reopened.status == Status.TRIAGED and reopened.closed_at is None
    assert reopened.timeline.filter(text="追加の漏えいが判明").exists()


def test_an_open_incident_is_not_reopened(reported, csirt):
    with pytest.raises(WorkflowError):
        services.reopen(reported, by=csirt, reason="念のため")


def test_a_serious_incident_closes_only_after_its_review(reported, csirt):
    incident = walk_to_recovered(triage(reported, csirt, severity=Severity.HIGH), csirt)
    with pytest.raises(WorkflowError):
        services.move(incident, Status.CLOSED, by=csirt)
    with pytest.raises(ValidationError) as refused:
        services.record_review(incident, by=csirt, causes="暗号化していなかった")
    assert "changes" in refused.value.message_dict
    services.record_review(
        incident,
        by=csirt,
        causes="暗号化していなかった",
        changes=[("USBメモリの暗号化を義務付ける", True), ("研修で周知する", False)],
    )
    incident.refresh_from_db()
    assert incident.status == Status.REVIEWED
    assert services.move(incident, Status.CLOSED, by=csirt).status == Status.CLOSED


def test_a_lesson_for_the_policy_review_goes_to_the_core_backlog(reported, csirt, people):
    incident = walk_to_recovered(triage(reported, csirt, severity=Severity.HIGH), csirt)
    services.record_review(
        incident,
        by=csirt,
        causes="暗号化していなかった",
        changes=[("USBメモリの暗号化を義務付ける", True), ("研修で周知する", False)],
    )
    item = ReviewItem.objects.get()
    assert item.source_kind == "incidents.lesson"
    assert "USBメモリの暗号化を義務付ける" in item.title
    assert item.link == f"/incidents/{incident.pk}/"
    # Those who may read the incident see the item; a head of another department does not.
    assert list(review.visible_items(csirt)) == [item]
    assert list(review.visible_items(people["auditor"])) == [item]
    assert not review.visible_items(people["other_head"]).exists()


def test_a_review_is_recorded_once_and_only_after_recovery(reported, csirt):
    incident = triage(reported, csirt)
    with pytest.raises(WorkflowError):
        services.record_review(incident, by=csirt, causes="原因")
    incident = walk_to_recovered(incident, csirt)
    services.record_review(incident, by=csirt, causes="原因")
    with pytest.raises(WorkflowError):
        services.record_review(incident, by=csirt, causes="二度目")


def test_the_owner_is_a_member_of_the_csirt_or_the_cisos_office(reported, csirt, people):
    with pytest.raises(ValidationError) as refused:
        triage(reported, csirt, owner=people["head"])
    assert "owner" in refused.value.message_dict
    reported.refresh_from_db()
    assert reported.status == Status.REPORTED


def test_timeline_entries_are_added_by_handlers_and_never_changed(reported, csirt, people):
    entry = services.add_entry(reported, by=csirt, kind=EntryKind.ACTION, text="端末を隔離した")
    with pytest.raises(PermissionDenied):
        services.add_entry(reported, by=people["staff"], kind=EntryKind.ACTION, text="x")
    entry.text = "書き換え"
    with pytest.raises(ImmutableRecordError):
        entry.save()
    with pytest.raises(ImmutableRecordError):
        entry.delete()
    with pytest.raises(ImmutableRecordError):
        TimelineEntry.objects.filter(pk=entry.pk).update(text="書き換え")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL triggers")
def test_postgresql_refuses_to_rewrite_or_remove_a_timeline_entry(reported, csirt):
    entry = services.add_entry(reported, by=csirt, kind=EntryKind.ACTION, text="端末を隔離した")
    with connection.cursor() as cursor:
        for statement in (
            "UPDATE incidents_timelineentry SET text = 'x' WHERE id = %s",
            "DELETE FROM incidents_timelineentry WHERE id = %s",
        ):
            with pytest.raises(InternalError), transaction.atomic():
                cursor.execute(statement, [entry.pk])
    entry.refresh_from_db()
    assert entry.text == "端末を隔離した"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL triggers")
def test_a_timeline_entry_takes_the_databases_time_whatever_the_client_says(reported, csirt):
    entry = TimelineEntry.objects.create(
        incident=reported,
        kind=EntryKind.ACTION,
        text="遡及",
        author=csirt,
        created_at=timezone.now() - datetime.timedelta(days=365),
    )
    entry.refresh_from_db()
    assert entry.created_at > timezone.now() - datetime.timedelta(minutes=5)
