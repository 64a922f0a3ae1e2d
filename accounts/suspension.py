"""Suspending generation for an account until an operator reviews it (an operator's choice,
or the content policy's after repeated refusals), and lifting it. Each is one conditional
UPDATE that must touch one row, so a suspension that two requests reach at once happens
(and is recorded) once."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

import audit
from accounts.models import Account
from accounts.plans import plan_default


def account_suspend(
    *,
    user_id: int,
    reason: str,
    by: AbstractBaseUser | AnonymousUser | None = None,
    system: bool = False,
) -> bool:
    """Suspend generation for the account. False if it was suspended already."""
    Account.objects.get_or_create(user_id=user_id, defaults={"plan": plan_default()})
    done = Account.objects.filter(user_id=user_id, suspended_at__isnull=True).update(
        suspended_at=timezone.now(), suspended_reason=reason[:200]
    )
    if done:
        account = Account.objects.select_related("user").get(user_id=user_id)
        audit.record(
            "account.suspended",
            actor=by,
            target=account,
            system=system,
            user=account.user.get_username(),
            reason=reason,
        )
    return bool(done)


def account_reinstate(*, user_id: int, by: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Lift a suspension. False if the account was not suspended."""
    done = Account.objects.filter(user_id=user_id, suspended_at__isnull=False).update(
        suspended_at=None, suspended_reason=""
    )
    if done:
        account = Account.objects.select_related("user").get(user_id=user_id)
        audit.record(
            "account.reinstated", actor=by, target=account, user=account.user.get_username()
        )
    return bool(done)
