"""Plans: what a creator's plan allows, and the account row that serialises quota decisions.

Every decision that counts (priority generations left, concurrent-job slots) is taken while
holding the creator's Account row (``account_lock``: ``SELECT ... FOR UPDATE``; SQLite
serialises writers by itself), so simultaneous requests cannot both take the last one. What
is counted (jobs) belongs to the generations app, which holds the lock while it counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

import audit
from accounts.models import Account, Plan
from media.frames import RESOLUTIONS

# The plans a new studio starts with, shaped like Sora's tiers; operators edit them in admin.
SEEDED_PLANS: list[dict[str, Any]] = [
    {
        "name": "Plus",
        "max_resolution": "720p",
        "max_seconds": 10,
        "max_variations": 2,
        "priority_per_month": 50,
        "concurrent_jobs": 1,
        "watermark_free": False,
        "is_default": True,
        "sort_order": 1,
    },
    {
        "name": "Pro",
        "max_resolution": "1080p",
        "max_seconds": 20,
        "max_variations": 4,
        "priority_per_month": None,
        "concurrent_jobs": 5,
        "watermark_free": True,
        "is_default": False,
        "sort_order": 2,
    },
]


def plan_default() -> Plan:
    """The plan new accounts get: the one marked default, else the first; a studio whose
    plans were all deleted gets the seeded ones back rather than refusing every creator."""
    plan = Plan.objects.filter(is_default=True).first() or Plan.objects.first()
    if plan is None:
        for fields in SEEDED_PLANS:
            Plan.objects.get_or_create(name=fields["name"], defaults=fields)
        plan = Plan.objects.get(is_default=True)
    return plan


def account_get_for_user(user: User) -> Account:
    """The user's account, made on the default plan the first time it is needed (and moved
    to its real plan once a probation has ended)."""
    try:
        return _probation_checked(Account.objects.select_related("plan").get(user=user))
    except Account.DoesNotExist:
        pass
    with transaction.atomic():
        account, _ = Account.objects.select_related("plan").get_or_create(
            user=user, defaults={"plan": plan_default()}
        )
    return account


def account_lock(user_id: int) -> Account:
    """The account row, locked until the current transaction ends. Call inside atomic()."""
    Account.objects.get_or_create(user_id=user_id, defaults={"plan": plan_default()})
    account = Account.objects.select_for_update().select_related("plan").get(user_id=user_id)
    return _probation_checked(account)


def _probation_checked(account: Account) -> Account:
    """``account``, on its real plan if its probation has ended (one conditional UPDATE the
    first time that is seen; nothing at all otherwise)."""
    ends = account.probation_until
    if ends is None or ends > timezone.now() or account.plan_after_probation_id is None:
        return account
    moved = Account.objects.filter(pk=account.pk, probation_until=ends).update(
        plan_id=account.plan_after_probation_id, plan_after_probation=None, probation_until=None
    )
    if moved:
        audit.record(
            "plan.changed",
            target=account,
            system=True,
            reason="probation ended",
            old=account.plan_id,
            new=account.plan_after_probation_id,
        )
    return Account.objects.select_related("plan").get(pk=account.pk)


def month_start(now: datetime | None = None) -> datetime:
    """Midnight on the first of this calendar month, in the studio's time zone."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def model_allowed(plan: Plan, provider: str, model: str) -> bool:
    """Whether the plan lists this provider (all its models) or this provider:model."""
    allowed = {line.strip() for line in plan.allowed_models.splitlines() if line.strip()}
    return not allowed or provider in allowed or f"{provider}:{model}" in allowed


def resolutions_allowed(plan: Plan) -> tuple[str, ...]:
    ceiling = RESOLUTIONS[plan.max_resolution]
    return tuple(r for r, lines in RESOLUTIONS.items() if lines <= ceiling)


def plan_errors(
    plan: Plan, *, resolution: str, seconds: int, variations: int, provider: str, model: str
) -> dict[str, str]:
    """Settings outside the plan, as plain messages keyed by form field."""
    errors: dict[str, str] = {}
    if resolution in RESOLUTIONS and resolution not in resolutions_allowed(plan):
        errors["resolution"] = f"Your {plan.name} plan makes video up to {plan.max_resolution}."
    if seconds > plan.max_seconds:
        errors["seconds"] = f"Your {plan.name} plan makes clips up to {plan.max_seconds} seconds."
    if variations > plan.max_variations:
        errors["variations"] = (
            f"Your {plan.name} plan makes up to {plan.max_variations} variations at a time."
        )
    if not model_allowed(plan, provider, model):
        errors["provider"] = f"Your {plan.name} plan does not include this model."
    return errors
