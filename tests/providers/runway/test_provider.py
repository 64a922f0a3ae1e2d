"""Runway against a real loopback server speaking its protocol, through the official
``runwayml`` SDK over real sockets, with the pipeline's services run step by step. Every
misbehaviour ends the job in the right state with exactly one task per create."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import av
import pytest
from django.test import override_settings

from generations import services
from generations.states import State
from providers.base import JobState, TransientError
from providers.registry import available_providers, get_provider
from providers.runway.models import RunwayAccount
from tests.providers.runway.server import API_KEY, CREDITS_PER_SECOND, RunwayServer
from tests.providers.steps import create, image_asset, poll_until_moved, refresh, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[RunwayServer]:
    with RunwayServer() as fake:
        yield fake


@pytest.fixture
def account(server: RunwayServer) -> RunwayAccount:
    return RunwayAccount.objects.create(api_key=API_KEY, base_url=server.base_url)


def _create(user, **fields):
    fields.setdefault("model", "gen4.5")
    fields.setdefault("seconds", 5)
    return create(user, "runway", **fields)


# --- configuration ----------------------------------------------------------------------


def test_runway_is_offered_only_with_a_key_from_admin_or_the_environment(server):
    assert "runway" not in [p.slug for p in available_providers()]
    with override_settings(STUDIO_RUNWAY_API_KEY="key_env"):
        assert "runway" in [p.slug for p in available_providers()]
    RunwayAccount.objects.create(api_key=API_KEY, base_url=server.base_url)
    assert "runway" in [p.slug for p in available_providers()]


def test_capabilities_follow_the_model(account):
    provider = get_provider("runway")
    gen = provider.capabilities("gen4.5")
    assert gen.seconds_choices == tuple(range(2, 11)) and not gen.audio
    assert gen.frame_choices == ("720p 16:9", "720p 9:16")
    veo = provider.capabilities("veo3.1")
    assert veo.seconds_choices == (4, 6, 8) and veo.audio
    assert "1080p 9:16" in veo.frame_choices
    assert provider.capabilities().models[0] == "gen4.5"


def test_a_model_the_account_does_not_offer_is_refused_with_a_form_error(account, user):
    from django.core.exceptions import ValidationError

    account.model_ids = "veo3.1"
    account.save()
    with pytest.raises(ValidationError) as refused:
        _create(user, model="gen4.5")
    assert "gen4.5" in refused.value.message_dict["provider"][0]
    with pytest.raises(ValidationError) as seconds:
        _create(user, model="veo3.1", seconds=5)
    assert "4, 6, 8 seconds" in seconds.value.message_dict["seconds"][0]


def test_the_admin_never_shows_the_key_and_a_blank_field_keeps_it(account, admin_client):
    page = admin_client.get(f"/admin/runway/runwayaccount/{account.pk}/change/")
    assert page.status_code == 200 and API_KEY not in page.content.decode()
    response = admin_client.post(
        f"/admin/runway/runwayaccount/{account.pk}/change/",
        {"name": "Main", "enabled": "on", "api_key": "", "base_url": account.base_url},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.api_key) == ("Main", API_KEY)


# --- the happy path ---------------------------------------------------------------------


def test_a_job_runs_end_to_end_to_a_real_mp4_in_the_library(account, server, user):
    generation = run(_create(user))

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.tasks) == 1
    task = next(iter(server.tasks.values()))
    assert generation.provider_job_id == task.id
    assert task.endpoint == "text_to_video"
    assert task.body == {
        "model": "gen4.5",
        "promptText": "a red kite over a green hill",
        "ratio": "1280:720",
        "duration": 5,
        "seed": generation.seed % 4294967295,
    }
    video = generation.videos.get()
    with av.open(video.file.path) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 24


def test_a_reference_image_is_sent_as_a_data_uri_at_the_ratios_size(account, server, user):
    from PIL import Image

    generation = run(_create(user, reference=image_asset(user)))

    assert generation.state == State.SUCCEEDED, generation.error_message
    task = next(iter(server.tasks.values()))
    assert task.endpoint == "image_to_video"
    head, data = task.body["promptImage"].split(",", 1)
    assert head == "data:image/jpeg;base64"
    with Image.open(io.BytesIO(base64.b64decode(data))) as sent:
        assert sent.size == (1280, 720)


def test_progress_and_the_cost_runway_reports_are_read(account, server, user):
    server.render_seconds = 1.5
    generation = _create(user)
    services.generation_submit(generation.pk)
    provider = get_provider("runway")
    seen: set[int] = set()

    def finished() -> bool:
        status = provider.poll(refresh(generation).provider_job_id)
        seen.add(status.progress or 0)
        return status.state == JobState.COMPLETED

    from tests.conftest import wait_for

    wait_for(finished, 30, "the task to finish")
    assert any(0 < p < 100 for p in seen)
    status = provider.poll(generation.provider_job_id)
    assert status.extra["cost"] == pytest.approx(CREDITS_PER_SECOND * 5 * 0.01)
    assert status.extra["cost_final"] is True


def test_a_throttled_task_is_queued_behind_the_accounts_concurrency(account, server, user):
    server.throttled_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    status = get_provider("runway").poll(refresh(generation).provider_job_id)
    assert status.state == JobState.QUEUED
    assert "concurrency" in str(status.extra["note"])
    services.generation_poll(generation.pk)
    assert refresh(generation).state == State.RUNNING
    assert generation.provider_note == "Waiting behind your Runway account's concurrency limit."


# --- misbehaviour -----------------------------------------------------------------------


def test_a_429_with_retry_after_is_retried_later_and_makes_one_task(account, server, user):
    server.fail("create", 429, {"error": "Too many requests"}, Retry_After="7")
    generation = _create(user)
    provider = get_provider("runway")
    with pytest.raises(TransientError) as busy:
        provider.submit(
            __import__("providers.base", fromlist=["JobRequest"]).JobRequest(
                key=str(generation.submit_key),
                prompt="p",
                width=1280,
                height=720,
                seconds=5,
                fps=24,
                model="gen4.5",
            )
        )
    assert busy.value.retry_after == 7
    assert provider.find_job(str(generation.submit_key)) is None  # certainly not made

    generation = run(generation)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.calls["create"] == 2 and len(server.tasks) == 1


def test_a_500_after_runway_accepted_the_create_is_never_sent_again(account, server, user):
    server.accept_then_fail = 1
    generation = _create(user)

    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    services.generation_submit(generation.pk)

    generation = refresh(generation)
    assert generation.state == State.FAILED
    assert generation.error_code == "unknown_outcome"
    assert "not sent again" in generation.error_message
    assert server.creates() == 1 and len(server.tasks) == 1


def test_a_create_that_times_out_after_being_accepted_is_never_sent_again(account, server, user):
    server.stall_create.set()
    generation = _create(user)
    with override_settings(STUDIO_PROVIDER_TIMEOUT_SECONDS=0.5):
        services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    server.stall_create.clear()
    server.release_create.set()
    services.generation_submit(generation.pk)

    assert refresh(generation).state == State.FAILED
    assert server.creates() == 1 and len(server.tasks) == 1


def test_a_safety_failure_ends_rejected_without_showing_the_code(account, server, user):
    server.outcome = "safety"
    generation = run(_create(user))

    assert generation.state == State.REJECTED
    assert "content policy" in generation.error_message
    assert "SAFETY" not in generation.error_message + generation.error_code
    assert len(server.tasks) == 1


def test_a_bad_output_is_made_again_as_a_new_task_then_succeeds(account, server, user):
    server.outcomes = ["bad_output"]
    generation = run(_create(user))

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 2
    first, second = server.tasks.values()
    assert (first.outcome, second.outcome) == ("bad_output", "succeeded")
    assert generation.provider_job_id == first.id  # the generation keeps its first task
    assert first.body == second.body


def test_bad_outputs_beyond_the_retries_fail_the_job(account, server, user):
    server.outcome = "bad_output"
    generation = run(_create(user))
    assert generation.state == State.FAILED
    assert server.creates() == 3  # the first and two retries


def test_an_ordinary_failure_and_an_unknown_status_end_failed(account, server, user):
    server.outcomes = ["failed", "unknown"]
    failed = run(_create(user))
    assert failed.state == State.FAILED
    assert failed.error_message == "An unexpected error occurred."
    unknown = run(_create(user, prompt="another"))
    assert unknown.state == State.FAILED
    assert "ARCHIVED" in unknown.error_message
    assert server.creates() == 2


def test_an_expired_output_url_is_read_again_from_the_task(account, server, user):
    from delivery import services as delivery_services

    generation = _create(user)
    services.generation_submit(generation.pk)
    poll_until_moved(generation)
    server.expire_first_url = 1  # the link the download reads first has expired
    services.generation_download(generation.pk)
    delivery_services.generation_finish(generation.pk)

    generation = refresh(generation)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.calls["file"] == 2
    assert generation.videos.count() == 1


def test_a_5xx_while_polling_is_retried(account, server, user):
    generation = _create(user)
    services.generation_submit(generation.pk)
    server.fail("retrieve", 503, {"error": "unavailable"}, times=2)
    poll_until_moved(generation)
    assert refresh(generation).state == State.DOWNLOADING


def test_cancel_deletes_the_task(account, server, user):
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    get_provider("runway").cancel(refresh(generation).provider_job_id)
    assert server.calls["delete"] == 1
    assert get_provider("runway").poll(generation.provider_job_id).state == JobState.CANCELED
