"""Admission: a queued generation goes to the workers only while its owner's plan has a
free concurrent-job slot; the rest wait in ``queued`` (priority first, then oldest).

Decided under the owner's account lock (``accounts.plans.account_lock``), so simultaneous
requests cannot both take the last slot.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from accounts.plans import account_lock
from generations.models import Generation, GenerationEvent
from generations.services.steps import SUBMIT_TASK, step_enqueue
from generations.states import FINAL_STATES, State


def generation_admit_waiting(owner_id: int) -> int:
    """Send the owner's waiting jobs to the workers while their plan has free concurrent-job
    slots (priority jobs first, then oldest). Returns how many were admitted."""
    with transaction.atomic():
        return generation_admit_locked(account_lock(owner_id))


def generation_admit_locked(account: Account, created: UUID | None = None) -> int:
    """``generation_admit_waiting`` for a caller that holds the account lock already;
    ``created`` is a job just made, whose admission needs no event of its own."""
    now = timezone.now()
    running = (
        Generation.objects.filter(owner_id=account.user_id, admitted_at__isnull=False)
        .exclude(state__in=FINAL_STATES)
        .count()
    )
    free = account.plan.concurrent_jobs - running
    if free <= 0:
        return 0
    waiting = Generation.objects.filter(
        owner_id=account.user_id, state=State.QUEUED, admitted_at__isnull=True
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
