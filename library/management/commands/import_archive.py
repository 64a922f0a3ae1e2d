"""``manage.py import_archive --user NAME PATH``: import a zip or a folder of videos and
images (a Sora export, say) into a creator's library, as the web import does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from library.importing import archive_import


class Command(BaseCommand):
    help = "Import a zip or a folder of MP4s and images into a creator's library."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="the creator's username")
        parser.add_argument("path", help="a .zip file or a folder")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            owner = User.objects.get(username=options["user"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['user']!r}.") from None
        source = Path(options["path"])
        if not source.exists():
            raise CommandError(f"{source} does not exist.")
        try:
            report = archive_import(owner=owner, source=source)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        for name in report.imported:
            self.stdout.write(f"imported  {name}")
        for name in report.duplicates:
            self.stdout.write(f"duplicate {name} (same SHA-256 already in the library)")
        for name, why in report.refused:
            self.stderr.write(f"refused   {name}: {why}")
        self.stdout.write(report.summary())
