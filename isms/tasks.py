from celery import shared_task

from . import policy_actions


@shared_task
def activate_due_revisions():
    """Make revisions whose effective date has come current (runs every quarter hour, so a
    revision dated today is in force shortly after midnight Japan time)."""
    return policy_actions.activate_due_revisions()
