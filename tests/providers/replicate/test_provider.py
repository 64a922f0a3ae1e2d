"""Replicate against a real loopback server speaking its protocol, through the official
``replicate`` SDK over real sockets, with the pipeline's services run step by step. Every
misbehaviour ends the job in the right state with exactly one prediction on the server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import av
import pytest
from django.test import override_settings

from generations import services
from generations.states import State
from providers.base import JobState
from providers.registry import available_providers, get_provider
from providers.replicate.models import ReplicateAccount
from tests.conftest import wait_for
from tests.providers.replicate.server import API_TOKEN, ReplicateServer, sign
from tests.providers.steps import create, poll_until_moved, refresh, run

pytestmark = pytest.mark.django_db

WAN = "wan-video/wan-2.2-t2v-fast"


@pytest.fixture
def server() -> Iterator[ReplicateServer]:
    with ReplicateServer() as fake:
        yield fake


@pytest.fixture
def account(server: ReplicateServer) -> ReplicateAccount:
    return ReplicateAccount.objects.create(api_key=API_TOKEN, base_url=server.base_url)


def _create(user, **fields):
    fields.setdefault("model", WAN)
    fields.setdefault("seconds", 5)
    return create(user, "replicate", **fields)


def test_replicate_is_offered_only_with_a_token_and_takes_any_owner_name(server, user):
    assert "replicate" not in [p.slug for p in available_providers()]
    account = ReplicateAccount.objects.create(
        api_key=API_TOKEN, base_url=server.base_url, model_ids=f"{WAN},acme/new-video"
    )
    provider = get_provider("replicate")
    assert provider.is_available()
    assert provider.capabilities().models == (WAN, "acme/new-video")
    assert provider.model_label("acme/new-video") == "acme/new-video (on Replicate)"
    generation = run(_create(user, model="acme/new-video"))
    assert generation.state == State.SUCCEEDED, generation.error_message
    job = server.jobs[generation.provider_job_id]
    assert job.model == "acme/new-video"
    assert job.input == {"prompt": "a red kite over a green hill", "seed": generation.seed}
    assert account.pk


def test_a_job_runs_end_to_end_to_a_real_mp4_in_the_library(account, server, user):
    generation = run(_create(user, aspect_ratio="9:16"))

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.jobs) == 1
    job = server.jobs[generation.provider_job_id]
    assert job.model == WAN
    assert job.input == {
        "prompt": "a red kite over a green hill",
        "aspect_ratio": "9:16",
        "resolution": "720p",
        "seed": generation.seed,
    }
    with av.open(generation.videos.get().file.path) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24


def test_progress_is_parsed_from_the_logs(account, server, user):
    server.render_seconds = 1.5
    generation = _create(user)
    services.generation_submit(generation.pk)
    provider = get_provider("replicate")
    seen: set[int] = set()

    def done() -> bool:
        status = provider.poll(refresh(generation).provider_job_id)
        seen.add(status.progress or 0)
        return status.state == JobState.COMPLETED

    wait_for(done, 30, "the prediction to finish")
    assert any(0 < p < 100 for p in seen)


# --- exactly once -----------------------------------------------------------------------


def test_a_429_is_retried_later_and_makes_one_prediction(account, server, user):
    server.fail("create", 429, {"title": "Too many requests", "status": 429}, Retry_After="2")
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    assert server.calls["create"] == 1  # the SDK never retries a POST
    generation = run(generation)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.calls["create"] == 2 and len(server.jobs) == 1
    assert server.calls["list"] == 0


def test_a_500_after_replicate_accepted_the_create_is_found_not_resent(account, server, user):
    server.accept_then_fail = 1
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING

    generation = run(generation)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.jobs) == 1
    assert generation.provider_job_id == next(iter(server.jobs))


def test_a_create_that_times_out_after_being_accepted_is_found_not_resent(account, server, user):
    server.stall_create.set()
    generation = _create(user)
    with override_settings(STUDIO_PROVIDER_TIMEOUT_SECONDS=0.5):
        services.generation_submit(generation.pk)  # the SDK alone would wait for ever
    assert refresh(generation).state == State.SUBMITTING
    server.stall_create.clear()
    server.release_create.set()

    generation = run(generation)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.jobs) == 1


def test_reconciling_pages_through_predictions_and_skips_those_others_own(account, server, user):
    server.page_size = 2
    server.accept_then_fail = 1
    mine = _create(user, prompt="same prompt", seed=5)
    services.generation_submit(mine.pk)
    ours = next(iter(server.jobs.values()))
    other = _create(user, prompt="same prompt", seed=5)
    time.sleep(0.01)
    twin = server.add(WAN, dict(ours.input))
    type(other).objects.filter(pk=other.pk).update(provider_job_id=twin.id)
    for i in range(4):
        server.add(WAN, {"prompt": f"someone else's {i}"})

    services.generation_submit(mine.pk)

    assert refresh(mine).provider_job_id == ours.id
    assert server.creates() == 1
    assert server.calls["list"] >= 3


# --- outcomes ---------------------------------------------------------------------------


def test_a_safety_flag_is_rejected_and_other_failures_and_unknown_statuses_fail(
    account, server, user
):
    server.outcome = "nsfw"
    rejected = run(_create(user))
    assert rejected.state == State.REJECTED and "safety check" in rejected.error_message
    server.outcome = "failed"
    failed = run(_create(user, prompt="b"))
    assert (failed.state, failed.error_message) == (State.FAILED, "CUDA out of memory")
    server.outcome = "aborted"
    unknown = run(_create(user, prompt="c"))
    assert unknown.state == State.FAILED and "aborted" in unknown.error_message
    assert server.creates() == 3


def test_an_expired_output_fails_with_a_plain_message(account, server, user):
    generation = _create(user)
    services.generation_submit(generation.pk)
    poll_until_moved(generation)
    server.expire_first_url = 1
    services.generation_download(generation.pk)
    generation = refresh(generation)
    assert generation.state == State.FAILED
    assert "expired" in generation.error_message


def test_a_5xx_while_polling_is_retried(account, server, user):
    generation = _create(user)
    services.generation_submit(generation.pk)
    server.fail("get", 503, {"title": "Unavailable", "status": 503}, times=2)
    poll_until_moved(generation)
    assert refresh(generation).state == State.DOWNLOADING


def test_cancel_cancels_the_prediction(account, server, user):
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    get_provider("replicate").cancel(refresh(generation).provider_job_id)
    assert server.calls["cancel"] == 1
    assert get_provider("replicate").poll(generation.provider_job_id).state == JobState.CANCELED


# --- webhooks ---------------------------------------------------------------------------


@override_settings(STUDIO_PUBLIC_URL="https://studio.example")
def test_a_signed_webhook_makes_the_pipeline_look_and_a_bad_one_is_refused(
    account, server, user, client
):
    server.render_seconds = 0.3
    generation = _create(user)
    services.generation_submit(generation.pk)
    job = server.jobs[refresh(generation).provider_job_id]
    assert job.webhook == "https://studio.example/webhooks/replicate/"
    wait_for(lambda: job.as_json(server)["status"] == "succeeded", 10)
    body, headers = server.webhook_delivery(job)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}

    forged = {**extra, "HTTP_WEBHOOK_SIGNATURE": "v1,AAAA"}
    bad = client.post("/webhooks/replicate/", body, "application/json", **forged)
    assert bad.status_code == 400
    stale = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in sign(body, at=time.time() - 3600).items()
    }
    assert client.post("/webhooks/replicate/", body, "application/json", **stale).status_code == 400
    assert refresh(generation).state == State.RUNNING

    good = client.post("/webhooks/replicate/", body, "application/json", **extra)
    assert good.status_code == 200
    assert refresh(generation).state == State.DOWNLOADING
    assert server.calls["secret"] == 1  # the signing secret was read from Replicate once
