"""Luma against a real loopback server speaking its protocol, through the official
``lumaai`` SDK over real sockets, with the pipeline's services run step by step. Every
misbehaviour ends the job in the right state with exactly one generation on the server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import av
import pytest
from django.test import override_settings

from delivery import services as delivery_services
from generations import services
from generations.spec import GenerationSpec
from generations.states import State
from providers.base import JobState
from providers.luma.models import LumaAccount
from providers.registry import available_providers, get_provider
from tests.providers.luma.server import API_KEY, LumaServer
from tests.providers.steps import create, poll_until_moved, refresh, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[LumaServer]:
    with LumaServer() as fake:
        yield fake


@pytest.fixture
def account(server: LumaServer) -> LumaAccount:
    return LumaAccount.objects.create(api_key=API_KEY, base_url=server.base_url)


def _create(user, **fields):
    fields.setdefault("model", "ray-2")
    fields.setdefault("seconds", 5)
    return create(user, "luma", **fields)


def test_luma_is_offered_only_with_a_key(server):
    assert "luma" not in [p.slug for p in available_providers()]
    with override_settings(STUDIO_LUMA_API_KEY="k"):
        assert "luma" in [p.slug for p in available_providers()]
    caps = get_provider("luma").capabilities("ray-2")
    assert caps.seconds_choices == (5, 9)
    assert caps.resolutions == ("720p", "1080p")
    assert (caps.keyframes, caps.loop, caps.extend) == (True, True, True)


def test_a_length_luma_does_not_make_is_a_form_error(account, user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        _create(user, seconds=6)
    assert "5, 9 seconds" in refused.value.message_dict["seconds"][0]


def test_a_job_runs_end_to_end_to_a_real_mp4_in_the_library(account, server, pro_user):
    user = pro_user
    generation = run(_create(user, aspect_ratio="9:16", resolution="1080p", seconds=9))

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.jobs) == 1
    job = next(iter(server.jobs.values()))
    assert generation.provider_job_id == job.id
    assert job.request == {
        "prompt": "a red kite over a green hill",
        "model": "ray-2",
        "aspect_ratio": "9:16",
        "resolution": "1080p",
        "duration": "9s",
    }
    with av.open(generation.videos.get().file.path) as container:
        assert sum(1 for _ in container.decode(video=0)) == 24


def test_an_extension_is_a_generation_keyed_on_the_earlier_one(account, server, user):
    first = run(_create(user))
    extension = services.generation_create(
        owner=user,
        spec=GenerationSpec.derived(first.videos.get(), operation="extend", prompt="and on"),
    )
    extension = run(extension)

    assert extension.state == State.SUCCEEDED, extension.error_message
    job = server.jobs[extension.provider_job_id]
    assert job.request["keyframes"] == {
        "frame0": {"type": "generation", "id": first.provider_job_id}
    }


# --- exactly once -----------------------------------------------------------------------


def test_a_429_with_retry_after_is_retried_and_makes_one_generation(account, server, user):
    server.fail("create", 429, {"detail": "Too many requests"}, Retry_After="3")
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    generation = run(generation)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.calls["create"] == 2 and len(server.jobs) == 1
    assert server.calls["list"] == 0  # a 429 certainly made nothing: no lookup needed


def test_a_500_after_luma_accepted_the_create_is_found_not_resent(account, server, user):
    server.accept_then_fail = 1
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING

    generation = run(generation)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.jobs) == 1
    assert generation.provider_job_id == next(iter(server.jobs))
    assert server.calls["list"] >= 1


def test_a_create_that_times_out_after_being_accepted_is_found_not_resent(account, server, user):
    server.stall_create.set()
    generation = _create(user)
    with override_settings(STUDIO_PROVIDER_TIMEOUT_SECONDS=0.5):
        services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    server.stall_create.clear()
    server.release_create.set()

    generation = run(generation)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.jobs) == 1


def test_reconciling_pages_through_the_list_and_skips_generations_others_own(account, server, user):
    server.page_cap = 2
    server.accept_then_fail = 1
    mine = _create(user, prompt="same prompt")
    services.generation_submit(mine.pk)
    ours = next(iter(server.jobs.values()))
    # Another generation of Studio's owns an identical, later job; others follow it.
    other = _create(user, prompt="same prompt")
    twin = server.add_job("same prompt", duration="5s", resolution="720p")
    type(other).objects.filter(pk=other.pk).update(provider_job_id=twin.id)
    for i in range(4):
        server.add_job(f"someone else's {i}")

    services.generation_submit(mine.pk)

    assert refresh(mine).provider_job_id == ours.id
    assert server.creates() == 1
    assert server.calls["list"] >= 3


def test_a_lost_answer_for_a_create_luma_never_made_is_sent_once_more(account, server, user):
    server.stall_create.set()
    generation = _create(user)
    with override_settings(STUDIO_PROVIDER_TIMEOUT_SECONDS=0.5):
        services.generation_submit(generation.pk)
    server.jobs.clear()  # the server lost it: the list shows nothing
    server.stall_create.clear()
    server.release_create.set()
    generation = run(generation)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(server.jobs) == 1


# --- outcomes ---------------------------------------------------------------------------


def test_moderation_ends_rejected_and_other_failures_failed(account, server, user):
    server.outcome = "moderation"
    rejected = run(_create(user))
    assert rejected.state == State.REJECTED
    assert "content policy" in rejected.error_message
    server.outcome = "failed"
    failed = run(_create(user, prompt="b"))
    assert (failed.state, failed.error_message) == (State.FAILED, "Generation failed: GPU lost")
    server.outcome = "archived"
    unknown = run(_create(user, prompt="c"))
    assert unknown.state == State.FAILED and "archived" in unknown.error_message
    assert server.creates() == 3


def test_an_expired_video_url_is_read_again_from_the_generation(account, server, user):
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
    server.fail("get", 502, {"detail": "bad gateway"}, times=2)
    poll_until_moved(generation)
    assert refresh(generation).state == State.DOWNLOADING


def test_cancel_deletes_the_generation(account, server, user):
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    get_provider("luma").cancel(refresh(generation).provider_job_id)
    assert server.calls["delete"] == 1
    assert get_provider("luma").poll(generation.provider_job_id).state == JobState.FAILED


# --- the callback -----------------------------------------------------------------------


@override_settings(STUDIO_PUBLIC_URL="https://studio.example", STUDIO_POLL_MAX_SECONDS=30)
def test_the_callback_is_a_hint_and_the_generation_is_read_back(account, server, user, client):
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    job = server.jobs[refresh(generation).provider_job_id]
    url = job.request["callback_url"]
    assert url.startswith("https://studio.example/webhooks/luma/")
    path = url.removeprefix("https://studio.example")
    assert get_provider("luma").poll(job.id).retry_after == 30  # polling is the safety net
    job.render_seconds = 0  # Luma finishes the render
    # The body claims a failure: only the id is used, the state comes from Luma.
    body = json.dumps({"id": job.id, "state": "failed"})
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 200
    assert refresh(generation).state == State.DOWNLOADING

    wrong = client.post("/webhooks/luma/nope/", body, content_type="application/json")
    assert wrong.status_code == 404
    bad = client.post(path, "not json", content_type="application/json")
    assert bad.status_code == 400
