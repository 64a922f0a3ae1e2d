"""Signal receivers that feed the audit trail: logins, logouts and failed logins (from
Django's auth signals, whichever page or throttle sits in front), and every add, change and
delete made through Django admin (from admin's own LogEntry rows, one by one or in bulk)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry, LogEntryManager
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


def _record_bulk_logs() -> None:
    """Admin logs several objects at once (a bulk delete) with ``bulk_create``, which sends
    no ``post_save``: wrap the manager's one method that does it, so those are recorded too."""
    original = LogEntryManager.log_actions
    if getattr(original, "audited", False):
        return

    def log_actions(self: LogEntryManager, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if isinstance(result, list) and len(result) > 1:
            for entry in result:
                on_admin_log(LogEntry, entry, created=True)
        return result

    log_actions.audited = True  # type: ignore[attr-defined]
    LogEntryManager.log_actions = log_actions  # type: ignore[method-assign]


def connect() -> None:
    _record_bulk_logs()
    user_logged_in.connect(on_login, dispatch_uid="audit.login")
    user_logged_out.connect(on_logout, dispatch_uid="audit.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="audit.login_failed")
    post_save.connect(on_admin_log, sender=LogEntry, dispatch_uid="audit.admin_log")
