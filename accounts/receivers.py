"""Audit-trail receivers for accounts: a creator's plan changing, and a user being suspended
or reactivated (``is_active``) or given or losing staff or superuser rights, however it
happens (admin, a command, a service)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models.signals import post_save, pre_save

import audit
from accounts.models import Account

USER_FIELDS = ("is_active", "is_staff", "is_superuser")


def _touches(update_fields: Any, names: tuple[str, ...]) -> bool:
    return update_fields is None or bool(set(update_fields) & set(names))


def account_before_save(
    sender: Any, instance: Account, update_fields: Any = None, **_: Any
) -> None:
    if instance.pk and _touches(update_fields, ("plan", "plan_id")):
        old = Account.objects.filter(pk=instance.pk).values_list("plan_id", flat=True).first()
        instance._audit_old_plan = old  # type: ignore[attr-defined]


def account_after_save(sender: Any, instance: Account, created: bool, **_: Any) -> None:
    old = getattr(instance, "_audit_old_plan", None)
    if not created and old is not None and old != instance.plan_id:
        audit.record(
            "plan.changed", target=instance, old=old, new=instance.plan_id, plan=instance.plan.name
        )
    instance._audit_old_plan = None  # type: ignore[attr-defined]


def user_before_save(sender: Any, instance: User, update_fields: Any = None, **_: Any) -> None:
    if instance.pk and _touches(update_fields, USER_FIELDS):
        old = User.objects.filter(pk=instance.pk).values(*USER_FIELDS).first()
        instance._audit_old_flags = old  # type: ignore[attr-defined]


def user_after_save(sender: Any, instance: User, created: bool, **_: Any) -> None:
    old = getattr(instance, "_audit_old_flags", None)
    instance._audit_old_flags = None  # type: ignore[attr-defined]
    if created or not old:
        return
    if old["is_active"] != instance.is_active:
        audit.record(
            "user.reactivated" if instance.is_active else "user.suspended", target=instance
        )
    roles = {name: getattr(instance, name) for name in ("is_staff", "is_superuser")}
    if any(old[name] != value for name, value in roles.items()):
        audit.record("user.role_changed", target=instance, **roles)


def connect() -> None:
    pre_save.connect(account_before_save, sender=Account, dispatch_uid="accounts.audit_plan_pre")
    post_save.connect(account_after_save, sender=Account, dispatch_uid="accounts.audit_plan")
    pre_save.connect(user_before_save, sender=User, dispatch_uid="accounts.audit_user_pre")
    post_save.connect(user_after_save, sender=User, dispatch_uid="accounts.audit_user")
