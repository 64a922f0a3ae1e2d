"""A provider's refusal keeps its job ``rejected`` and is logged with the policy's own
refusals, at the output stage; other endings are not refusals."""

from __future__ import annotations

import pytest

from generations.services.transitions import generation_end
from generations.states import State
from policy.models import Refusal
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def test_a_provider_refusal_is_logged_at_the_output_stage(user):
    generation = make_generation(user, state=State.RUNNING, provider="offline", model="")

    assert generation_end(
        generation, to_state=State.REJECTED, code="moderation_blocked", message="Blocked."
    )

    generation.refresh_from_db()
    assert generation.state == State.REJECTED
    refusal = Refusal.objects.get()
    assert (refusal.stage, refusal.rule, refusal.reason, refusal.user, refusal.excerpt) == (
        "output",
        "provider offline: moderation_blocked",
        "Blocked.",
        user,
        generation.prompt,
    )


def test_a_failure_is_not_a_refusal(user):
    generation = make_generation(user, state=State.RUNNING)
    assert generation_end(generation, to_state=State.FAILED, code="x", message="GPU fell over")
    assert not Refusal.objects.exists()
