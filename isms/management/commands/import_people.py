"""manage.py import_people FILE [--kind staff|organisation] [--effective DATE] [--apply]

Checks a file of the personnel system and prints what it would change (or every problem);
with --apply, schedules it for --effective (a later day: applied by the midnight job) or
applies it now (no date, or today). Acts as --by (a programme admin; the only superuser
when not given), whom the audit trail names."""

import datetime
import os

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...models import BatchStatus, PersonnelBatch, User
from ...personnel import services


class Command(BaseCommand):
    help = "Check (and with --apply, apply or schedule) a staff or organisation file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--kind", choices=["staff", "organisation"])
        parser.add_argument("--effective", help="Effective date, YYYY-MM-DD (e.g. 2027-04-01).")
        parser.add_argument("--apply", action="store_true")
        parser.add_argument("--by", help="Login name of the programme admin acting.")

    def handle(self, *args, file, kind, effective, apply, by, **options):
        person = self._person(by)
        effective_on = None
        if effective:
            try:
                effective_on = datetime.date.fromisoformat(effective)
            except ValueError:
                raise CommandError(f"--effective: not a date: {effective}") from None
        kind = kind or _detect_kind(file)
        try:
            with open(file, "rb") as handle:
                # The file's name without its directories: storage refuses a path (a
                # SuspiciousFileOperation for an absolute one or one with "..").
                batch = services.upload_batch(
                    File(handle, name=os.path.basename(file)),
                    kind,
                    by=person,
                    effective_on=effective_on,
                )
        except OSError as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        services.check_batch(batch.pk)  # here, rather than wait for a worker
        batch = PersonnelBatch.objects.get(pk=batch.pk)
        self.stdout.write(f"batch #{batch.pk} ({batch.kind}): {batch.status}")
        if batch.status == BatchStatus.REJECTED:
            for error in batch.errors:
                self.stdout.write(f"  row {error['row']} {error['column']}: {error['message']}")
            raise CommandError(f"{batch.error_count} problems; nothing was changed.")
        for name, count in batch.preview.get("counts", {}).items():
            if count:
                self.stdout.write(f"  {name}: {count}")
        if not apply:
            self.stdout.write("Nothing changed (preview only; --apply to apply or schedule).")
            return
        day = effective_on or timezone.localdate()
        services.schedule_batch(batch.pk, day, by=person)
        if day <= timezone.localdate():
            # This batch only (the job queued by scheduling may have applied it already).
            if PersonnelBatch.objects.filter(pk=batch.pk, status=BatchStatus.SCHEDULED).exists():
                services.apply_batch(batch.pk)
            batch = PersonnelBatch.objects.get(pk=batch.pk)
            self.stdout.write(f"batch #{batch.pk}: {batch.status}")
            if batch.status != BatchStatus.APPLIED:
                for error in batch.errors:
                    self.stdout.write(f"  row {error['row']} {error['column']}: {error['message']}")
                raise CommandError("The batch could not be applied; nothing was changed.")
        else:
            self.stdout.write(f"Scheduled for {day.isoformat()}.")

    def _person(self, username):
        if username:
            person = User.objects.filter(username=username, is_active=True).first()
        else:
            admins = list(User.objects.filter(is_superuser=True, is_active=True)[:2])
            person = admins[0] if len(admins) == 1 else None
        if person is None or not services.can_manage_people(person):
            raise CommandError("Name an active programme admin with --by.")
        return person


def _detect_kind(path):
    """staff when the header names a staff number, organisation otherwise (CSV only)."""
    if path.lower().endswith(".xlsx"):
        raise CommandError("For an xlsx file, say --kind staff or --kind organisation.")
    try:
        with open(path, "rb") as handle:
            head = handle.readline()
    except OSError as error:
        raise CommandError(str(error)) from None
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = ""
    return "staff" if ("職員番号" in text or "staff_number" in text) else "organisation"
