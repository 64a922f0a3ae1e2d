"""`manage.py sweep_orphans`: delete stored files and offline job folders that nothing names
(see generations.services.sweep); also run by beat every hour."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from generations.services.sweep import orphans_sweep


class Command(BaseCommand):
    help = "Delete stored files and offline job folders that no row names any more."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", type=float, default=3600.0, help="grace period in seconds"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = orphans_sweep(older_than=options["older_than"])
        self.stdout.write(
            f"deleted {counts['files']} file(s), {counts['job_folders']} job folder(s)"
        )
