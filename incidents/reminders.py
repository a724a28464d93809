"""What the incident services and the reminder jobs share: the keys of the tasks the
notifications ask for, and the reporting clocks still running."""

from django.db.models import Q, QuerySet

from .models import Decision, ObligationStage, StageStatus, Status


def triage_task(incident_id: int) -> str:
    """The task the CSIRT is notified of when an incident is reported: done at triage."""
    return f"incident-triage:{incident_id}"


def report_task(stage_id: int) -> str:
    """The task a reporting clock's reminders ask for: done when the report is sent."""
    return f"incident-report:{stage_id}"


def open_clocks() -> QuerySet[ObligationStage]:
    """Report stages whose clock runs: not yet sent, of an obligation not ruled out, of an
    incident not dismissed."""
    return ObligationStage.objects.filter(
        status__in=[StageStatus.PENDING, StageStatus.DRAFTED], due_at__isnull=False
    ).exclude(
        Q(obligation__decision=Decision.NOT_REQUIRED)
        | Q(obligation__incident__status=Status.DISMISSED)
    )
