"""SIGKILL of the worker (and every process it started) at each stage of the pipeline, on
Redis and on the embedded broker: a new worker finishes the job, exactly once, with no
file left over. A killed worker's messages come back by the reaper's stall check (Redis
would wait out its visibility timeout; the embedded broker has already deleted a claimed
message), so these tests run with a stall limit of a few seconds (tests.conftest)."""

from __future__ import annotations

import pytest

from generations import services
from generations.spec import GenerationSpec
from generations.states import State
from tests.conftest import wait_final, wait_for
from tests.faults.conftest import assert_clean_end

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _hosted(user):
    return services.generation_create(
        owner=user,
        spec=GenerationSpec(prompt="a kite over dunes", seconds=4, provider="openai-loop"),
    )


def _in(generation, state):
    def check() -> bool:
        generation.refresh_from_db()
        return generation.state == state

    return check


def test_killed_while_submitting(broker, start_worker, video_server, user):
    video_server.stall_create.set()  # the server takes the job, then holds its answer
    first = start_worker()
    generation = _hosted(user)
    wait_for(video_server.create_arrived.is_set, 60, "the create to reach the server")
    assert generation.state == State.SUBMITTING or _in(generation, State.SUBMITTING)()
    first.kill()
    video_server.stall_create.clear()
    video_server.release_create.set()
    start_worker()

    wait_final(generation, timeout=120)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(video_server.jobs) == 1 and video_server.calls["create"] == 1
    assert_clean_end(generation)


def test_killed_while_running(broker, start_worker, video_server, user):
    video_server.render_seconds = 6.0
    first = start_worker()
    generation = _hosted(user)
    wait_for(_in(generation, State.RUNNING), 60, "the job to run")
    first.kill()
    start_worker()

    wait_final(generation, timeout=120)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(video_server.jobs) == 1 and video_server.calls["create"] == 1
    assert_clean_end(generation)


def test_killed_while_downloading(broker, start_worker, video_server, user):
    video_server.hold_content.set()
    first = start_worker()
    generation = _hosted(user)
    wait_for(video_server.content_arrived.is_set, 60, "the download to start")
    assert _in(generation, State.DOWNLOADING)()
    first.kill()
    video_server.hold_content.clear()
    video_server.release_content.set()
    start_worker()

    wait_final(generation, timeout=120)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert video_server.calls["create"] == 1
    assert video_server.calls["content:video"] == 2  # the killed attempt and the next one
    assert_clean_end(generation)


def test_killed_while_finishing(broker, start_worker, user):
    # The offline renderer's 720p clip takes the finishing step (watermark, delivery copy,
    # poster) long enough to be caught in it.
    first = start_worker()
    generation = services.generation_create(
        owner=user,
        spec=GenerationSpec(prompt="rain on a window", resolution="720p", seconds=4, seed=2),
    )
    wait_for(_in(generation, State.FINISHING), 120, "the job to be finishing")
    first.kill()
    start_worker()

    wait_final(generation, timeout=120)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert_clean_end(generation)
