"""The state machine: legal moves, refused moves, final states, and races."""

from __future__ import annotations

import threading
from itertools import product

import pytest
from django.db import connection

from generations.models import Generation, GenerationEvent
from generations.services import IllegalTransition, generation_transition
from generations.states import FINAL_STATES, TRANSITIONS, State
from tests.factories import make_generation

# Sorted: TRANSITIONS holds sets, and every xdist worker must collect the same order.
LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
ILLEGAL = [(a, b) for a, b in product(State.values, State.values) if b not in TRANSITIONS[a]]


@pytest.mark.django_db
@pytest.mark.parametrize(("from_state", "to_state"), LEGAL)
def test_every_legal_transition_moves_the_row_and_logs_it(user, from_state, to_state):
    generation = make_generation(user, state=from_state)

    assert generation_transition(generation.pk, from_state=from_state, to_state=to_state)

    generation.refresh_from_db()
    assert generation.state == to_state
    event = GenerationEvent.objects.get(generation=generation)
    assert (event.from_state, event.to_state) == (from_state, to_state)
    if to_state in FINAL_STATES:
        assert generation.finished_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(("from_state", "to_state"), ILLEGAL)
def test_every_illegal_transition_is_refused(user, from_state, to_state):
    generation = make_generation(user, state=from_state)

    with pytest.raises(IllegalTransition):
        generation_transition(generation.pk, from_state=from_state, to_state=to_state)

    generation.refresh_from_db()
    assert generation.state == from_state
    assert not GenerationEvent.objects.exists()


def test_final_states_have_no_exits():
    assert {State.SUCCEEDED, State.FAILED, State.REJECTED, State.CANCELED} == FINAL_STATES
    for state in FINAL_STATES:
        assert TRANSITIONS[state] == frozenset()


@pytest.mark.django_db
def test_a_transition_from_a_state_the_row_has_left_does_nothing(user):
    generation = make_generation(user, state=State.RUNNING)

    moved = generation_transition(
        generation.pk, from_state=State.SUBMITTING, to_state=State.RUNNING
    )

    assert moved is False
    assert not GenerationEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_threads_racing_for_one_transition_leave_exactly_one_winner(user):
    generation = make_generation(user, state=State.RUNNING)
    barrier = threading.Barrier(2)
    results: list[bool] = []
    targets = [State.DOWNLOADING, State.CANCELED]

    def race(to_state: str) -> None:
        try:
            barrier.wait()
            results.append(
                generation_transition(generation.pk, from_state=State.RUNNING, to_state=to_state)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == [False, True]
    generation.refresh_from_db()
    assert generation.state in targets
    events = list(GenerationEvent.objects.filter(generation=generation))
    assert len(events) == 1
    assert events[0].to_state == generation.state
    assert Generation.objects.count() == 1
