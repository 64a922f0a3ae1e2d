"""Admission: a queued generation goes to the workers only while its plan has a free
concurrent-job slot; the rest wait in ``queued`` (priority first, then oldest). A creator's
own jobs are measured against their plan, a team job against the team's (every member's
team jobs share its slots).

Decided under the plan holder's row lock (``accounts.plans.account_lock`` for the creator,
``teams.services.team_lock`` for a team), so simultaneous requests cannot both take the
last slot.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Plan
from accounts.plans import account_lock
from generations.models import Generation, GenerationEvent
from generations.selectors import generation_running_count, quota_scope
from generations.services.steps import SUBMIT_TASK, step_enqueue
from generations.states import State
from teams.models import Team
from teams.services import team_lock


def generation_admit_waiting(owner_id: int, team_id: int | None = None) -> int:
    """Send waiting jobs to the workers while their plan has free concurrent-job slots
    (priority jobs first, then oldest): the owner's own jobs, or with ``team_id`` the
    team's. Returns how many were admitted."""
    with transaction.atomic():
        if team_id is None:
            return generation_admit_locked(account_lock(owner_id))
        try:
            team = team_lock(team_id)
        except Team.DoesNotExist:
            return 0
        return generation_admit_plan_locked(team.plan, owner_id=owner_id, team_id=team.pk)


def generation_admit_locked(account: Account, created: UUID | None = None) -> int:
    """``generation_admit_waiting`` for a caller that holds the account lock already;
    ``created`` is a job just made, whose admission needs no event of its own."""
    return generation_admit_plan_locked(account.plan, owner_id=account.user_id, created=created)


def generation_admit_plan_locked(
    plan: Plan, *, owner_id: int, team_id: int | None = None, created: UUID | None = None
) -> int:
    """Admission for the jobs ``plan`` counts (the owner's own, or the team's), by a caller
    holding that plan holder's lock."""
    now = timezone.now()
    free = plan.concurrent_jobs - generation_running_count(owner_id, team_id=team_id)
    if free <= 0:
        return 0
    waiting = Generation.objects.filter(
        quota_scope(owner_id, team_id), state=State.QUEUED, admitted_at__isnull=True
    ).order_by("-priority", "queued_at")[:free]
    admitted = 0
    for generation in waiting:
        Generation.objects.filter(pk=generation.pk).update(
            admitted_at=now,
            deadline_at=now + timedelta(seconds=settings.STUDIO_JOB_DEADLINE_SECONDS),
            updated_at=now,
        )
        if generation.pk != created:
            GenerationEvent.objects.create(
                generation_id=generation.pk,
                message="a concurrent-job slot came free: sent to the workers",
            )
        step_enqueue(SUBMIT_TASK, generation)
        admitted += 1
    return admitted
