"""Recompute the audit trail's hash chain and name its first broken link.

Exit status 0 when every sealed event is intact, 1 otherwise (for cron and monitoring)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from isms.audit import verify_chain


def describe(event):
    return (
        f"event {event.pk} (position {event.chain_position}, "
        f"{timezone.localtime(event.created_at):%Y-%m-%d %H:%M:%S}, {event.action}, "
        f"by {event.actor_name or '-'})"
    )


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; name the first broken event and exit 1."

    def add_arguments(self, parser):
        parser.add_argument(
            "--head",
            metavar="SHA256",
            help="the head stated by a weekly summary: fail unless the chain still holds it",
        )

    def handle(self, *args, head=None, **options):
        report = verify_chain()
        if not report.intact:
            raise CommandError(
                f"The audit trail is broken at {describe(report.broken_at)}: {report.problem}. "
                f"{report.sealed} event(s) before it are intact."
            )
        if head and not _holds(head):
            raise CommandError(
                f"The chain no longer holds the head {head}: it has been rewritten or cut."
            )
        if report.head is None:
            self.stdout.write("The audit trail has no sealed event yet.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"The audit trail is intact: {report.sealed} sealed event(s); head "
                    f"{describe(report.head)}, SHA-256 {report.head.hash}."
                )
            )
        if report.unsealed:
            self.stdout.write(
                f"{report.unsealed} recent event(s) are not sealed yet "
                "(the seal-audit-trail job chains them every minute)."
            )


def _holds(head):
    from isms.models import AuditEvent

    return AuditEvent.objects.filter(hash=head).exists()
