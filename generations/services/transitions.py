"""The state machine's one way to move a generation: a conditional UPDATE that must touch
exactly one row, plus its GenerationEvent, in one transaction. A worker that loses the race
writes nothing. A provider's refusal (``rejected``) is also logged in the content policy's
refusal log, at the output stage."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from core import metrics
from generations.models import Generation, GenerationEvent
from generations.services.admission import generation_admit_waiting
from generations.states import FINAL_STATES, State, can_move
from policy.checks import refusal_log
from policy.models import Refusal


class IllegalTransition(ValueError):
    pass


# Sent inside the transaction of a move to a final state, with ``generation_id`` and
# ``state``: listeners (the API's outgoing webhooks) write in the same transaction and send
# their tasks on its commit, so a rolled-back ending sends nothing.
generation_ended = Signal()


def generation_transition(
    generation_id: UUID,
    *,
    from_state: str,
    to_state: str,
    message: str = "",
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move a generation from ``from_state`` to ``to_state`` if it is still there.

    One conditional UPDATE; returns False (and writes nothing) when another worker moved
    the row first. Raises IllegalTransition for a move the state machine does not allow.
    A final state frees the job's concurrent-job slot: the owner's next waiting job is
    admitted once the transaction commits.
    """
    if not can_move(from_state, to_state):
        raise IllegalTransition(f"{from_state} → {to_state} is not allowed")
    now = timezone.now()
    if to_state in FINAL_STATES:
        fields.setdefault("finished_at", now)
        fields.setdefault("claimed_until", None)
    with transaction.atomic():
        moved = Generation.objects.filter(pk=generation_id, state=from_state).update(
            state=to_state, updated_at=now, **fields
        )
        if moved != 1:
            return False
        # One read serves the stage metric and the freed slot.
        owner_id, team_id, provider = Generation.objects.values_list(
            "owner_id", "team_id", "provider"
        ).get(pk=generation_id)
        entered = (
            GenerationEvent.objects.filter(generation_id=generation_id, to_state=from_state)
            .order_by("-at", "-id")
            .values_list("at", flat=True)
            .first()
        )
        GenerationEvent.objects.create(
            generation_id=generation_id,
            from_state=from_state,
            to_state=to_state,
            message=message,
            data=data or {},
        )
        if entered is not None:
            _observe_stage(provider, from_state, (now - entered).total_seconds())
        if to_state in FINAL_STATES:
            transaction.on_commit(lambda: generation_admit_waiting(owner_id, team_id))
            generation_ended.send(Generation, generation_id=generation_id, state=to_state)
        if to_state == State.REJECTED:
            _log_provider_refusal(generation_id, fields)
    return True


def _observe_stage(provider: str, stage: str, seconds: float) -> None:
    """How long the job spent in ``stage``, recorded once the move has committed."""
    transaction.on_commit(
        lambda: metrics.observe("stage_seconds", seconds, stage=stage, provider=provider)
    )


def _log_provider_refusal(generation_id: UUID, fields: dict[str, Any]) -> None:
    """A provider's refusal goes in the policy's refusal log too (stage: output)."""
    owner_id, provider, model, prompt = Generation.objects.values_list(
        "owner_id", "provider", "model", "prompt"
    ).get(pk=generation_id)
    refusal_log(
        stage=Refusal.Stage.OUTPUT,
        rule=f"provider {provider}{':' + model if model else ''}: "
        f"{fields.get('error_code') or 'rejected'}",
        reason=fields.get("error_message") or "The provider refused this request.",
        user_id=owner_id,
        excerpt=prompt,
    )


def generation_end(
    generation: Generation, *, to_state: str, code: str = "", message: str = ""
) -> bool:
    """Move a generation to a final state from wherever it is now (retrying on races).
    Returns False when it had ended already or cannot move there."""
    for _ in range(5):
        generation.refresh_from_db(fields=["state"])
        if generation.state in FINAL_STATES or not can_move(generation.state, to_state):
            return False
        if generation_transition(
            generation.pk,
            from_state=generation.state,
            to_state=to_state,
            message=message,
            error_code=code,
            error_message=message if to_state != State.CANCELED else "",
        ):
            return True
    return False


def generation_log(generation_id: UUID, message: str, **data: Any) -> None:
    """Add a line to the generation's event log that is not a state change."""
    GenerationEvent.objects.create(generation_id=generation_id, message=message, data=data)
