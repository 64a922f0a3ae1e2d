"""fal against a real loopback queue server speaking its protocol, through the official
``fal-client`` over real sockets, with the pipeline's services run step by step. Every
misbehaviour ends the job in the right state with exactly one request on the server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import av
import pytest
from django.test import override_settings

from delivery import services as delivery_services
from generations import services
from generations.states import State
from providers.base import JobState
from providers.fal.models import FalAccount
from providers.registry import available_providers, get_provider
from tests.providers.fal.server import API_KEY, FalServer
from tests.providers.steps import create, poll_until_moved, refresh, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[FalServer]:
    with FalServer() as fake:
        yield fake


@pytest.fixture
def account(server: FalServer) -> FalAccount:
    return FalAccount.objects.create(api_key=API_KEY, base_url=server.base_url)


def _create(user, **fields):
    fields.setdefault("model", "kling-2.1")
    fields.setdefault("seconds", 5)
    return create(user, "fal", **fields)


def test_fal_is_offered_only_with_a_key_and_capabilities_follow_the_model(server):
    assert "fal" not in [p.slug for p in available_providers()]
    with override_settings(STUDIO_FAL_API_KEY="id:secret"):
        assert "fal" in [p.slug for p in available_providers()]
        provider = get_provider("fal")
        assert provider.capabilities("kling-2.1").seconds_choices == (5, 10)
        veo = provider.capabilities("veo3")
        assert veo.audio and veo.seconds_choices == (8,)


def test_a_job_runs_end_to_end_to_a_real_mp4_in_the_library(account, server, user):
    generation = run(_create(user, aspect_ratio="1:1", seconds=10))

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.jobs) == 1
    job = next(iter(server.jobs.values()))
    assert generation.provider_job_id == f"kling-2.1:{job.id}"
    assert (job.app, job.path) == ("fal-ai/kling-video", "v2.1/standard/text-to-video")
    assert job.arguments == {
        "prompt": "a red kite over a green hill",
        "duration": "10",
        "aspect_ratio": "1:1",
    }
    with av.open(generation.videos.get().file.path) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24


def test_the_queue_position_is_shown_while_waiting(account, server, user):
    server.queue_ahead = 3
    generation = _create(user)
    services.generation_submit(generation.pk)
    status = get_provider("fal").poll(refresh(generation).provider_job_id)
    assert status.state == JobState.QUEUED
    assert status.extra["queue_position"] == 2
    assert "Number 3" in str(status.extra["note"])
    services.generation_poll(generation.pk)
    assert "in fal's queue" in refresh(generation).provider_note
    poll_until_moved(generation)
    assert refresh(generation).state == State.DOWNLOADING


@override_settings(STUDIO_POLL_MIN_SECONDS=1, STUDIO_POLL_MAX_SECONDS=30)
def test_polls_follow_the_pipelines_backoff_not_the_clients_tenth_of_a_second(
    account, server, user
):
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    countdowns = [services.generation_poll(generation.pk) for _ in range(4)]
    assert all(c is not None and c >= 0.8 for c in countdowns)
    assert server.calls["status"] == 4  # one look per poll, no loop inside


# --- exactly once -----------------------------------------------------------------------


def test_a_429_is_not_retried_by_the_client_and_the_pipeline_sends_it_later(account, server, user):
    server.fail("create", 429, {"detail": "Rate limited"}, Retry_After="4")
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    assert server.calls["create"] == 1  # the client's own retry loop never ran
    generation = run(generation)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.calls["create"] == 2 and len(server.jobs) == 1


def test_a_500_after_fal_accepted_the_request_is_never_sent_again(account, server, user):
    server.accept_then_fail = 1
    generation = _create(user)
    services.generation_submit(generation.pk)
    services.generation_submit(generation.pk)

    generation = refresh(generation)
    assert generation.state == State.FAILED
    assert generation.error_code == "unknown_outcome"
    assert server.creates() == 1 and len(server.jobs) == 1


def test_a_create_that_times_out_after_being_accepted_is_never_sent_again(account, server, user):
    server.stall_create.set()
    generation = _create(user)
    with override_settings(STUDIO_PROVIDER_TIMEOUT_SECONDS=0.5):
        services.generation_submit(generation.pk)
    assert server.creates() == 1  # the client did not retry the timed-out POST
    server.stall_create.clear()
    server.release_create.set()
    services.generation_submit(generation.pk)

    assert refresh(generation).state == State.FAILED
    assert server.creates() == 1 and len(server.jobs) == 1


def test_a_server_that_cannot_be_reached_is_retried_safely(account, server, user):
    account.base_url = "http://127.0.0.1:9"
    account.save()
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    account.base_url = server.base_url
    account.save()
    generation = run(generation)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(server.jobs) == 1


# --- outcomes ---------------------------------------------------------------------------


def test_completed_with_an_error_is_a_failure_and_a_policy_error_a_rejection(account, server, user):
    server.outcome = "error"
    failed = run(_create(user))
    assert (failed.state, failed.error_message) == (State.FAILED, "Out of GPU memory")
    server.outcome = "policy"
    rejected = run(_create(user, prompt="b"))
    assert rejected.state == State.REJECTED and "content policy" in rejected.error_message
    server.outcome = "unknown"
    unknown = run(_create(user, prompt="c"))
    assert unknown.state == State.FAILED and "unknown status" in unknown.error_message
    assert server.creates() == 3


def test_an_expired_video_url_is_read_again_from_the_result(account, server, user):
    generation = _create(user)
    services.generation_submit(generation.pk)
    poll_until_moved(generation)
    server.expire_first_url = 1
    services.generation_download(generation.pk)
    delivery_services.generation_finish(generation.pk)
    assert refresh(generation).state == State.SUCCEEDED, generation.error_message
    assert server.calls["file"] == 2


def test_a_5xx_while_polling_is_retried(account, server, user):
    generation = _create(user)
    services.generation_submit(generation.pk)
    server.fail("status", 503, {"detail": "unavailable"}, times=2)
    poll_until_moved(generation)
    assert refresh(generation).state == State.DOWNLOADING


def test_cancel_puts_the_cancel(account, server, user):
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    get_provider("fal").cancel(refresh(generation).provider_job_id)
    assert server.calls["cancel"] == 1
    assert get_provider("fal").poll(generation.provider_job_id).state == JobState.FAILED


@override_settings(STUDIO_PUBLIC_URL="https://studio.example")
def test_the_webhook_is_a_hint_and_the_status_is_read_back(account, server, user, client):
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    job = next(iter(server.jobs.values()))
    assert job.webhook.startswith("https://studio.example/webhooks/fal/")
    path = job.webhook.removeprefix("https://studio.example")
    job.render_seconds = 0  # fal finishes the request
    body = json.dumps({"request_id": job.id, "status": "ERROR", "payload": None})
    assert client.post(path, body, content_type="application/json").status_code == 200
    assert refresh(generation).state == State.DOWNLOADING
    assert client.post("/webhooks/fal/x/kling-2.1/", body, "application/json").status_code == 404
    assert client.post(path, "[]", content_type="application/json").status_code == 400
