"""manage.py backup DEST: the database, every stored file and the signing identity, into a
new folder (core/backup.py); restore it with manage.py restore."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database, the stored files and the signing identity into a new folder."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("dest", type=Path, help="A new (or empty) folder.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manifest = backup(options["dest"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        files = manifest["files"]
        count = len(files) if isinstance(files, dict) else 0
        self.stdout.write(f"Backed up the database and {count} files to {options['dest']}.")
