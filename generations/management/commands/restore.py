"""manage.py restore SRC: load a backup (manage.py backup) into this studio's freshly
migrated database and empty storage, after checking every file's SHA-256."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup into a freshly migrated, empty database and storage."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("src", type=Path, help="A folder written by manage.py backup.")

    def handle(self, *args: Any, **options: Any) -> None:
        if get_user_model().objects.exists():
            raise CommandError("This database already has users: restore into a fresh one.")
        try:
            restored = restore(options["src"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored the database and {restored['files']} files.")
