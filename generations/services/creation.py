"""Creating and steering generations: a spec becomes a queued job (sent to the workers when
the owner's plan has a free slot), a job is canceled, an ended one runs again."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.plans import account_get_for_user, account_lock
from accounts.signup import generate_refusal
from generations.models import Generation
from generations.pricing import estimate_text, money, month_spend, price_quote
from generations.selectors import generation_count_priority, generation_count_since
from generations.services.admission import generation_admit_plan_locked
from generations.services.assets import video_delete
from generations.services.lineage import lineage_record
from generations.services.pipeline import generation_cancel_at_provider
from generations.services.transitions import generation_end, generation_transition
from generations.spec import GenerationSpec, spec_validate
from generations.states import State
from teams.services import team_for_generate


def generation_create(*, owner: User, spec: GenerationSpec) -> Generation:
    """Validate ``spec`` against its provider and the plan it runs on, save the generation
    as queued and, when the plan has a free concurrent-job slot, send it to the workers once
    the transaction commits (otherwise it waits in the queue for one). A priority request
    with no priority generations left this month runs on the standard queue. An account
    still on the waitlist (or refused, suspended, or with its e-mail unconfirmed) and one
    past its plan's jobs per day are refused.

    The plan is the owner's own, or with ``spec.team_id`` the team's: then the team's quotas
    and spend are counted (every member's team jobs) under the team's row lock, and only
    its members who are not viewers may generate. Raises ValidationError with plain messages
    keyed by form field; nothing is saved then."""
    account = account_get_for_user(owner)
    if (why := generate_refusal(account)) is not None:
        raise ValidationError({NON_FIELD_ERRORS: why})
    team_id = spec.team_id
    plan = account.plan
    if team_id is not None:  # checked again under the lock below
        plan = team_for_generate(team_id, owner.pk, lock=False).plan
    spec = spec_validate(spec, owner_id=owner.pk, plan=plan)
    now = timezone.now()
    with transaction.atomic():
        # Held until commit: the counts and the admission below cannot race.
        if team_id is None:
            plan = account_lock(owner.pk).plan
            whose = f"Your {plan.name} plan"
        else:
            team = team_for_generate(team_id, owner.pk)
            plan = team.plan
            whose = f"{team.name}'s {plan.name} plan"
        per_day = plan.jobs_per_day
        if per_day is not None and (
            generation_count_since(owner.pk, now - timedelta(days=1), team_id=team_id) >= per_day
        ):
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: f"{whose} starts up to {per_day} "
                    "generations a day: try again later."
                }
            )
        priority, downgraded = spec.priority, False
        limit = plan.priority_per_month
        if (
            priority
            and limit is not None
            and generation_count_priority(owner.pk, now, team_id=team_id) >= limit
        ):
            priority, downgraded = False, True
        fields = spec.model_fields()
        fields["priority"] = priority
        fields.update(
            _cost_locked(
                plan.monthly_spend_cap, spec, owner_id=owner.pk, team_id=team_id, whose=whose
            )
        )
        if spec.seed is None:
            fields["seed"] = random.randrange(2**31)
        generation = Generation.objects.create(owner=owner, **fields)
        lineage_record(generation)
        generation_transition(
            generation.pk,
            from_state=State.DRAFT,
            to_state=State.QUEUED,
            message="queued on the standard queue: no priority generations left this month"
            if downgraded
            else "queued",
            queued_at=now,
        )
        generation_admit_plan_locked(
            plan, owner_id=owner.pk, team_id=team_id, created=generation.pk
        )
        generation.refresh_from_db()
    return generation


def _cost_locked(
    cap: Decimal | None,
    spec: GenerationSpec,
    *,
    owner_id: int,
    team_id: int | None = None,
    whose: str = "your plan",
) -> dict[str, object]:
    """The job's estimated cost, refused (ValidationError) when it would take the creator
    (the team) past the plan's monthly spend cap. Called holding the plan holder's lock, so
    simultaneous requests are counted one after another."""
    quote = price_quote(spec.provider, spec.model)
    if quote is None:
        return {}
    estimate = quote.cost(seconds=spec.seconds, variations=spec.variations)
    if cap is not None:
        spent = month_spend(owner_id, team_id=team_id)
        if spent + estimate > cap:
            text = estimate_text(
                estimate, quote.currency, seconds=spec.seconds, variations=spec.variations
            )
            holder = "you" if team_id is None else "the team"
            raise ValidationError(
                {
                    "provider": f"This job ({text}) would take {holder} past "
                    f"{'your plan' if team_id is None else whose}'s monthly "
                    f"spend cap of {money(cap, 'USD')} ({money(spent, 'USD')} spent so far)."
                }
            )
    return {"cost_estimate": estimate, "cost_currency": quote.currency}


def generation_cancel(*, generation: Generation, by: User | None = None) -> bool:
    """Cancel a job that has not ended; tells the provider to stop. Returns False if it had
    already ended."""
    who = by.username if by is not None else "system"
    if not generation_end(generation, to_state=State.CANCELED, message=f"canceled by {who}"):
        return False
    if generation.provider_job_id:
        transaction.on_commit(lambda: generation_cancel_at_provider(generation))
    return True


def generation_retry(*, generation: Generation) -> Generation:
    """Run an ended generation again, as a new generation with the same spec (final states
    have no exits). Raises ValidationError when the spec no longer fits (a changed plan)."""
    return generation_create(owner=generation.owner, spec=GenerationSpec.again(generation))


def generation_delete(*, generation: Generation) -> None:
    """Delete a generation with every video of it and their files; a job still running is
    canceled first (its provider told to stop)."""
    if not generation.is_final:
        generation_cancel(generation=generation)
    for video in list(generation.videos.all()):
        video_delete(video=video)
    generation.delete()


MAX_COMPARE = 4


def generation_compare(
    *, owner: User, spec: GenerationSpec, models: Sequence[str]
) -> list[Generation]:
    """One prompt on two to MAX_COMPARE models at once (``models``: "provider:model"
    values): each its own generation, made as ``generation_create`` makes one, all sharing
    one ``compare_group``. All or nothing: when one model refuses (its capabilities, the
    plan, the spend cap, the policy) ValidationError names it and no generation is saved."""
    chosen = list(dict.fromkeys(models))
    if not 2 <= len(chosen) <= MAX_COMPARE:
        raise ValidationError({"compare": f"Choose 2 to {MAX_COMPARE} models to compare."})
    group = uuid.uuid4()
    made: list[Generation] = []
    with transaction.atomic():
        for value in chosen:
            provider, _, model = value.partition(":")
            one = spec.replace(provider=provider, model=model, compare_group=group)
            try:
                made.append(generation_create(owner=owner, spec=one))
            except ValidationError as exc:
                reasons = " ".join(m for messages in exc.message_dict.values() for m in messages)
                raise ValidationError({"compare": f"{value}: {reasons}"}) from exc
    return made
