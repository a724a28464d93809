from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from isms.models import Audience, DocumentKind, PolicyDocument
from isms.policy_import import PolicyFormatError, import_policy, parse_policy


class Command(BaseCommand):
    help = "Import a policy in the city's text format (numbered sections, 附則 with dates)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--code", default="basic-policy", help="document code (slug)")
        parser.add_argument(
            "--kind", default=DocumentKind.BASIC_POLICY, choices=DocumentKind.values
        )
        parser.add_argument("--audience", default=Audience.PUBLIC, choices=Audience.values)
        parser.add_argument(
            "--author", default="admin", help="user name recorded as author and publisher"
        )

    def handle(self, *args, file, code, kind, audience, author, **options):
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{file}: cannot read the file as UTF-8 text ({error})") from None
        try:
            parsed = parse_policy(text)
        except PolicyFormatError as error:
            raise CommandError(f"{file}: {error}. Nothing was imported.") from None
        user = get_user_model().objects.filter(username=author).first()
        if user is None:
            raise CommandError(f"no user named {author!r}; give one with --author")
        if PolicyDocument.objects.filter(code=code).exists():
            raise CommandError(f"a document with the code {code!r} already exists")
        try:
            document = import_policy(parsed, code=code, kind=kind, audience=audience, author=user)
        except ValidationError as error:
            raise CommandError(f"{file}: {'; '.join(error.messages)}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {document.title!r} with {len(parsed.supplements)} revisions; "
                f"in force since {parsed.supplements[-1].effective_date.isoformat()}."
            )
        )
