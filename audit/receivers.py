"""Signal receivers that feed the audit trail: logins, logouts and failed logins (from
Django's auth signals, whichever page or throttle sits in front), and every add, change and
delete made through Django admin (from admin's own LogEntry rows)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.http import HttpRequest

from audit.records import record

ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


def on_login(sender: Any, request: HttpRequest | None = None, user: Any = None, **_: Any) -> None:
    record("login", actor=user, request=request)


def on_logout(sender: Any, request: HttpRequest | None = None, user: Any = None, **_: Any) -> None:
    if user is not None:
        record("logout", actor=user, request=request)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    # Django has already masked anything secret in ``credentials``; keep only the name.
    username = str(credentials.get("username", ""))[:150]
    record("login.failed", request=request, username=username)


def on_admin_log(sender: Any, instance: LogEntry, created: bool, **_: Any) -> None:
    if not created:
        return
    model = instance.content_type.model_class() if instance.content_type else None
    label = model._meta.label_lower if model is not None else ""
    record(
        ADMIN_ACTIONS.get(instance.action_flag, "admin.other"),
        actor=instance.user,
        target_ref=(label, instance.object_id or "", instance.object_repr),
        change=instance.get_change_message(),
    )


def connect() -> None:
    user_logged_in.connect(on_login, dispatch_uid="audit.login")
    user_logged_out.connect(on_logout, dispatch_uid="audit.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="audit.login_failed")
    post_save.connect(on_admin_log, sender=LogEntry, dispatch_uid="audit.admin_log")
