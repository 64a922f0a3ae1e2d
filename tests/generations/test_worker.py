"""The pipeline end to end with real Celery worker processes and the real broker."""

from __future__ import annotations

import av
import pytest

from generations import services
from generations.models import GenerationEvent
from generations.spec import GenerationSpec
from generations.states import State
from tests.conftest import wait_final, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_generation_goes_from_queued_to_a_playable_mp4(start_worker, user):
    start_worker()
    generation = services.generation_create(
        owner=user,
        spec=GenerationSpec(
            prompt="a hot-air balloon over a canyon",
            resolution="480p",
            aspect_ratio="9:16",
            seconds=2,
            variations=2,
            seed=11,
        ),
    )

    wait_final(generation)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert generation.progress == 100
    videos = list(generation.videos.order_by("index"))
    assert len(videos) == 2
    for video in videos:
        with av.open(video.file.path) as container:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
            assert stream.codec_context.name == "h264"
            assert (stream.codec_context.width, stream.codec_context.height) == (480, 854)
            assert float(stream.average_rate) == pytest.approx(24, abs=0.01)
        assert abs(frames - 48) <= 1
        assert video.duration == pytest.approx(2, abs=1 / 24 + 1e-6)
        assert video.poster
        assert len(video.sha256) == 64
    states = [e.to_state for e in generation.events.exclude(to_state="")]
    assert states == ["queued", "submitting", "running", "downloading", "finishing", "succeeded"]


def test_a_worker_killed_mid_job_is_recovered_without_a_duplicate(start_worker, user):
    first = start_worker()
    generation = services.generation_create(
        owner=user,
        spec=GenerationSpec(
            prompt="a slow pan over a city at night",
            resolution="720p",
            aspect_ratio="16:9",
            seconds=10,
            seed=5,
        ),
    )

    def rendering() -> bool:
        generation.refresh_from_db()
        return generation.state == State.RUNNING and generation.progress > 10

    wait_for(rendering, 90, "the render to be under way")
    first.kill()
    start_worker()
    wait_final(generation, timeout=180)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert generation.videos.count() == 1
    events = GenerationEvent.objects.filter(generation=generation)
    assert events.filter(message="submitted").count() == 1
    with av.open(generation.videos.get().file.path) as container:
        assert sum(1 for _ in container.decode(video=0)) == 10 * 24


def test_cancel_stops_a_running_job(start_worker, pro_user):
    start_worker()
    generation = services.generation_create(
        owner=pro_user,
        spec=GenerationSpec(prompt="a long drift through clouds", resolution="1080p", seconds=20),
    )

    def running() -> bool:
        generation.refresh_from_db()
        return generation.state == State.RUNNING

    wait_for(running, 60, "the job to run")
    assert services.generation_cancel(generation=generation, by=pro_user)
    generation.refresh_from_db()
    assert generation.state == State.CANCELED
    assert not generation.videos.exists()
