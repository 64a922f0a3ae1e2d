"""The job state machine of a Generation: its states, its legal moves and its final states."""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    QUEUED = "queued", "Queued"
    SUBMITTING = "submitting", "Submitting"
    RUNNING = "running", "Generating"
    DOWNLOADING = "downloading", "Saving"
    FINISHING = "finishing", "Finishing"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    CANCELED = "canceled", "Canceled"


FINAL_STATES: frozenset[str] = frozenset(
    {State.SUCCEEDED, State.FAILED, State.REJECTED, State.CANCELED}
)
ACTIVE_STATES: frozenset[str] = frozenset(s for s in State.values if s not in FINAL_STATES)

_ENDINGS = {State.FAILED, State.REJECTED, State.CANCELED}
TRANSITIONS: dict[str, frozenset[str]] = {
    State.DRAFT: frozenset({State.QUEUED, State.CANCELED}),
    State.QUEUED: frozenset({State.SUBMITTING, State.FAILED, State.CANCELED}),
    State.SUBMITTING: frozenset({State.RUNNING, *_ENDINGS}),
    State.RUNNING: frozenset({State.DOWNLOADING, *_ENDINGS}),
    State.DOWNLOADING: frozenset({State.FINISHING, *_ENDINGS}),
    State.FINISHING: frozenset({State.SUCCEEDED, State.FAILED, State.CANCELED}),
    State.SUCCEEDED: frozenset(),
    State.FAILED: frozenset(),
    State.REJECTED: frozenset(),
    State.CANCELED: frozenset(),
}


def can_move(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())


def is_final(state: str) -> bool:
    return state in FINAL_STATES
