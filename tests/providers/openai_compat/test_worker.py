"""The OpenAI-compatible provider with real Celery workers: end to end from the dashboard,
and a worker killed in the middle of the create, with exactly one server job each time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from generations.models import Generation, GenerationEvent
from generations.spec import GenerationSpec
from generations.states import State
from providers.openai_compat.models import VideoEndpoint
from tests.conftest import wait_final, wait_for
from tests.providers.openai_compat.server import FakeVideoServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture
def server() -> Iterator[FakeVideoServer]:
    with FakeVideoServer(render_seconds=1.0) as fake:
        yield fake


@pytest.fixture
def endpoint(server: FakeVideoServer) -> VideoEndpoint:
    return server.endpoint()


def test_a_generation_on_the_endpoint_works_from_the_dashboard_to_the_gallery(
    start_worker, endpoint, server, owner_client
):
    start_worker()
    response = owner_client.post(
        "/generate/",
        {
            "prompt": "a lantern drifting down a river",
            "resolution": "720p",
            "aspect_ratio": "9:16",
            "seconds": "4",
            "variations": "1",
            "provider": "openai-loop:vid-1",
        },
    )
    assert response.status_code == 302
    generation = wait_final(Generation.objects.get())

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(server.jobs) == 1 and server.creates == 1
    assert next(iter(server.jobs.values())).size == "720x1280"
    video = generation.videos.get()
    assert video.thumbnail and video.spritesheet
    gallery = owner_client.get("/gallery/").content.decode()
    assert str(video.pk) in gallery


def test_a_worker_killed_during_the_create_is_reconciled_without_a_second_job(
    start_worker, endpoint, server, user
):
    from generations import services

    server.stall_create.set()  # the server accepts the job, then holds the answer
    first = start_worker()
    generation = services.generation_create(
        owner=user,
        spec=GenerationSpec(
            prompt="a slow dolly past a neon sign", seconds=4, provider="openai-loop"
        ),
    )
    wait_for(server.create_arrived.is_set, 60, "the create to reach the server")
    first.kill()
    server.stall_create.clear()
    server.release_create.set()
    start_worker()

    wait_final(generation, timeout=120)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(server.jobs) == 1 and server.calls["create"] == 1
    assert generation.provider_job_id == next(iter(server.jobs))
    events = GenerationEvent.objects.filter(generation=generation)
    assert events.filter(message="found the job made before a crash").count() == 1
    assert not events.filter(message="submitted").exists()
