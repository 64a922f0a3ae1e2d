"""`manage.py ensure_admin`: on a first run, make an operator account and say how to log in.

The password is random, printed once and kept in VAR_DIR/admin-password.txt (outside the
repository); set STUDIO_ADMIN_PASSWORD to choose it instead. Does nothing when any
superuser exists."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first operator account if there is none."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            return
        password = os.environ.get("STUDIO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        users.create_superuser("admin", "", password)
        note = settings.VAR_DIR / "admin-password.txt"
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"admin\n{password}\n")
        note.chmod(0o600)
        self.stdout.write(f"Operator account: admin / {password}  (saved in {note})")
