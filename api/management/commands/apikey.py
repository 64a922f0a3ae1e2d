"""`manage.py apikey create --user NAME [--name LABEL]` prints a new API key once (the user
is made if missing, on the default plan); `manage.py apikey revoke PREFIX` revokes one."""

from __future__ import annotations

import getpass
import socket
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.plans import account_get_for_user
from api.keys import apikey_create, apikey_revoke
from api.models import ApiKey


def _who() -> dict[str, str]:
    """Who ran the command, and where, for the audit record (a command has no request)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = ""
    return {"os_user": os_user, "host": socket.gethostname()}


class Command(BaseCommand):
    help = "Create or revoke API keys for /v1/."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a key and print it (shown once)")
        create.add_argument("--user", required=True, help="owner (made if missing)")
        create.add_argument("--name", default="", help="a label for the key")
        revoke = sub.add_parser("revoke", help="revoke the key with this prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            user, made = User.objects.get_or_create(username=options["user"])
            account_get_for_user(user)  # on the default plan, as a sign-up would be
            key = apikey_create(owner=user, name=options["name"], via="command", command=_who())
            if made:
                self.stderr.write(f"Made user {user.username}.")
            self.stdout.write(key.secret)
            return
        prefix = options["prefix"].rstrip("…").rstrip(".")
        keys = list(ApiKey.objects.filter(prefix__startswith=prefix)[:2]) if prefix else []
        if len(keys) != 1:
            raise CommandError(f"No single key has the prefix {prefix!r}.")
        if not apikey_revoke(key=keys[0], via="command", command=_who()):
            raise CommandError(f"Key {keys[0].prefix} was already revoked.")
        self.stdout.write(f"Revoked {keys[0].prefix}.")
