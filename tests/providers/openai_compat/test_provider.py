"""The OpenAI-compatible provider against a real loopback server, through the official SDK
over real sockets, with the pipeline's services run step by step. Every misbehaviour ends
the job in the right state with exactly one job on the server."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from delivery import services as delivery_services
from generations import services
from generations.models import Generation, Video
from generations.services import pipeline
from generations.spec import GenerationSpec
from generations.states import State
from providers.base import JobRequest, PermanentError, TransientError
from providers.openai_compat.models import SentCreate, VideoEndpoint
from providers.openai_compat.provider import EndpointConfig, OpenAICompatProvider
from providers.registry import available_providers, get_provider
from tests.conftest import wait_for
from tests.providers.openai_compat.server import FakeVideoServer, error_body

pytestmark = pytest.mark.django_db

SLUG = "openai-loop"


@pytest.fixture
def server() -> Iterator[FakeVideoServer]:
    with FakeVideoServer() as fake:
        yield fake


@pytest.fixture
def endpoint(server: FakeVideoServer) -> VideoEndpoint:
    return server.endpoint(
        model_ids="vid-1,vid-2",
        sizes="1280x720,720x1280,480x480",
        seconds="4,8,12",
        remix=True,
        extend=True,
        webhook_secret=server.webhook_secret,
    )


def _create(user, **fields) -> Generation:
    settings = {
        "prompt": "a red kite over a green hill",
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "seconds": 4,
        "provider": SLUG,
        "model": "vid-1",
    }
    settings.update(fields)
    return services.generation_create(owner=user, spec=GenerationSpec(**settings))


def _refresh(generation: Generation) -> Generation:
    generation.refresh_from_db()
    return generation


def _poll_until_moved(generation: Generation) -> Generation:
    def moved() -> bool:
        services.generation_poll(generation.pk)
        return _refresh(generation).state != State.RUNNING

    wait_for(moved, 30, "the job to leave running")
    return generation


def _run(generation: Generation) -> Generation:
    """Every step the workers would take, in order, in this process."""
    services.generation_submit(generation.pk)
    if _refresh(generation).state == State.RUNNING:
        _poll_until_moved(generation)
    services.generation_download(generation.pk)
    delivery_services.generation_finish(generation.pk)
    return _refresh(generation)


# --- configuration and capabilities ---------------------------------------------------------


def test_endpoints_from_admin_and_environment_are_offered(endpoint, server):
    env = json.dumps(
        [{"slug": "gw", "name": "Gateway", "base_url": "http://127.0.0.1:9/v1", "model_ids": ["m"]}]
    )
    with override_settings(STUDIO_OPENAI_ENDPOINTS=env):
        slugs = [p.slug for p in available_providers()]
    assert SLUG in slugs and "openai-gw" in slugs
    caps = get_provider(SLUG).capabilities("vid-1")
    assert caps.resolutions == ("480p", "720p")
    assert caps.aspect_ratios == ("16:9", "9:16", "1:1")
    assert caps.seconds_choices == (4, 8, 12)
    assert (caps.remix, caps.extend, caps.max_variations) == (True, True, 1)


def test_an_endpoint_edited_in_admin_takes_effect_at_once(endpoint):
    assert get_provider(SLUG).capabilities().seconds_choices == (4, 8, 12)
    endpoint.seconds = "5,10"
    endpoint.save()
    assert get_provider(SLUG).capabilities().seconds_choices == (5, 10)
    endpoint.enabled = False
    endpoint.save()
    assert SLUG not in [p.slug for p in available_providers()]


def test_settings_the_endpoint_cannot_make_are_refused_with_a_form_error(endpoint, user):
    with pytest.raises(ValidationError) as seconds:
        _create(user, seconds=5)
    assert "4, 8, 12 seconds" in seconds.value.message_dict["seconds"][0]
    with pytest.raises(ValidationError) as frame:
        _create(user, resolution="480p", aspect_ratio="16:9")
    assert "480p 16:9" in frame.value.message_dict["resolution"][0]


# --- the happy path ---------------------------------------------------------------------------


def test_a_job_runs_end_to_end_with_one_server_job_and_its_extras(endpoint, server, user):
    generation = _run(_create(user))

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(server.jobs) == 1 and server.creates == 1
    job = next(iter(server.jobs.values()))
    assert generation.provider_job_id == job.id
    assert (job.size, job.seconds, job.model) == ("1280x720", "4", "vid-1")
    create = server.requests[0]
    assert create["content_type"].startswith("multipart/form-data")
    assert create["fields"]["seconds"] == "4"
    video = generation.videos.get()
    assert video.duration == pytest.approx(1, abs=0.05)
    assert video.thumbnail.read()[:4] == b"RIFF"
    assert video.spritesheet.read()[:2] == b"\xff\xd8"


def test_a_reference_image_is_uploaded_as_a_file_at_the_jobs_size(endpoint, server, user, tmp_path):
    from PIL import Image

    from providers.base import JobRequest

    image = tmp_path / "ref.jpg"
    Image.new("RGB", (300, 200), "blue").save(image)
    provider = get_provider(SLUG)
    provider.submit(
        JobRequest(
            key="k-ref",
            prompt="p",
            width=1280,
            height=720,
            seconds=4,
            fps=24,
            reference_path=image,
            reference_kind="image",
        )
    )
    assert server.requests[0]["files"] == ["input_reference"]
    job = next(iter(server.jobs.values()))
    with Image.open(io.BytesIO(job.reference)) as sent:
        assert sent.size == (1280, 720)


def test_missing_thumbnail_and_spritesheet_are_skipped(endpoint, server, user):
    server.extras = False
    generation = _run(_create(user))
    assert generation.state == State.SUCCEEDED
    video = generation.videos.get()
    assert not video.thumbnail and not video.spritesheet


def test_progress_is_shown_while_the_server_renders_slowly(endpoint, server, user):
    server.render_seconds = 1.5
    generation = _create(user)
    services.generation_submit(generation.pk)
    seen: set[int] = set()

    def finished() -> bool:
        services.generation_poll(generation.pk)
        _refresh(generation)
        seen.add(generation.progress)
        return generation.state != State.RUNNING

    wait_for(finished, 30, "the slow job to finish")
    assert len([p for p in seen if 5 < p < 85]) >= 1
    assert generation.state == State.DOWNLOADING
    assert len(server.jobs) == 1


@override_settings(STUDIO_POLL_MIN_SECONDS=1, STUDIO_POLL_MAX_SECONDS=30)
def test_poll_honours_the_servers_poll_after_header_and_backs_off_with_age(endpoint, server):
    endpoint.webhook_secret = ""
    endpoint.save()
    provider = get_provider(SLUG)
    job = server.add_job("p")
    job.render_seconds = 3600
    server.poll_after_ms = 7000
    assert provider.poll(job.id).retry_after == pytest.approx(7)
    server.poll_after_ms = None
    young = provider.poll(job.id).retry_after
    job.created_at -= 100
    older = provider.poll(job.id).retry_after
    assert young < older <= 30


@override_settings(STUDIO_POLL_MIN_SECONDS=1, STUDIO_POLL_MAX_SECONDS=30)
def test_with_webhooks_polling_is_only_a_slow_safety_net(endpoint, server):
    job = server.add_job("p")
    job.render_seconds = 3600
    assert get_provider(SLUG).poll(job.id).retry_after == 30


# --- exactly once ------------------------------------------------------------------------


def test_a_500_after_the_server_accepted_the_create_makes_no_duplicate(endpoint, server, user):
    server.accept_then_fail = 1
    generation = _create(user)

    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.SUBMITTING
    assert not generation.provider_job_id
    generation = _run(generation)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(server.jobs) == 1 and server.calls["create"] == 1
    assert generation.provider_job_id == next(iter(server.jobs))
    assert server.calls["list"] >= 1


def test_a_create_that_times_out_after_being_accepted_makes_no_duplicate(endpoint, server, user):
    server.stall_create.set()
    generation = _create(user)
    with override_settings(STUDIO_OPENAI_TIMEOUT_SECONDS=0.5):
        services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.SUBMITTING
    server.stall_create.clear()
    server.release_create.set()

    generation = _run(generation)

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert len(server.jobs) == 1 and server.calls["create"] == 1


def test_another_machine_with_its_own_scratch_folder_reconciles_an_unknown_outcome(
    endpoint, server, user, tmp_path
):
    """The "create sent" marker is a committed row, not a file: a worker elsewhere, which
    shares only the database with the one that sent the create, still finds the job."""
    server.accept_then_fail = 1
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.SUBMITTING and not generation.provider_job_id
    sent = SentCreate.objects.get(key=str(generation.submit_key))
    assert sent.job_id == "" and sent.request["prompt"] == generation.prompt

    with override_settings(STUDIO_WORK_DIR=tmp_path / "another-machine"):
        services.generation_submit(generation.pk)

    assert _refresh(generation).provider_job_id == next(iter(server.jobs))
    assert server.calls["create"] == 1
    assert (
        SentCreate.objects.get(key=str(generation.submit_key)).job_id == generation.provider_job_id
    )
    assert not (tmp_path / "another-machine").exists()


def test_reconciling_pages_through_the_list_and_skips_jobs_other_generations_own(
    endpoint, server, user
):
    server.page_size_cap = 2
    server.accept_then_fail = 1
    generation = _create(user, prompt="same prompt")
    services.generation_submit(generation.pk)
    # Other clients of the account make jobs after ours, so ours is past the first page;
    # one of them has the very same request and belongs to another generation.
    twin = server.add_job("same prompt", model="vid-1", size="1280x720", seconds="4")
    twin.created_at -= 0.5  # made before ours, but inside the window
    other = _create(user, prompt="same prompt")
    Generation.objects.filter(pk=other.pk).update(provider_job_id=twin.id)
    for i in range(5):
        server.add_job(f"somebody else's {i}")

    services.generation_submit(generation.pk)

    ours = [j for j in server.jobs.values() if j.id != twin.id and j.prompt == "same prompt"]
    assert _refresh(generation).provider_job_id == ours[0].id
    assert server.calls["create"] == 1
    assert server.calls["list"] >= 3


def test_a_rate_limited_create_is_retried_after_retry_after(endpoint, server, user):
    server.fail(
        "create",
        429,
        error_body("Rate limit reached.", code="rate_limit_exceeded", type_="requests"),
        retry_after="7",
    )
    provider = get_provider(SLUG)
    request = JobRequest(key="k-429", prompt="p", width=1280, height=720, seconds=4, fps=24)
    with pytest.raises(TransientError) as error:
        provider.submit(request)
    assert error.value.retry_after == pytest.approx(7)
    assert provider.find_job("k-429") is None  # listed: the server made nothing
    generation = _run(_create(user))
    assert generation.state == State.SUCCEEDED
    assert len(server.jobs) == 1 and server.calls["create"] == 2


def test_server_errors_are_retried_boundedly_then_fail_the_job(endpoint, server, user):
    server.fail("create", 503, error_body("Overloaded.", type_="server_error"), times=50)
    generation = _create(user)
    for _ in range(pipeline.MAX_TRANSIENT_RETRIES + 1):
        services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.FAILED
    assert "busy" in generation.error_message
    assert len(server.jobs) == 0


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["sentinel_block", "moderation_blocked"])
def test_moderation_at_submit_rejects_the_job_without_retry(endpoint, server, user, code):
    server.fail("create", 400, error_body("Hmmm something didn't look right.", code=code))
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.REJECTED
    assert "content policy" in generation.error_message
    assert generation.error_code == code
    assert server.calls["create"] == 1 and len(server.jobs) == 0


def test_moderation_as_a_failed_job_rejects_it(endpoint, server, user):
    server.outcome = "moderation"
    generation = _run(_create(user))
    assert generation.state == State.REJECTED
    assert "blocked by our moderation system" in generation.error_message
    assert len(server.jobs) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_permanent_with_the_servers_message(endpoint, server, user, status):
    server.fail("create", status, error_body(f"Nope {status}.", code="bad"))
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.FAILED
    assert generation.error_message == f"Nope {status}."
    assert server.calls["create"] == 1 and len(server.jobs) == 0


@pytest.mark.parametrize("status", ["expired", "canceled", "failed"])
def test_an_ending_status_ends_the_job_at_the_first_look(endpoint, server, user, status):
    server.outcome = status
    generation = _run(_create(user))
    expected = State.CANCELED if status == "canceled" else State.FAILED
    assert generation.state == expected
    assert generation.polls == 0  # one look ended it
    assert len(server.jobs) == 1


def test_a_rate_limited_poll_is_retried_and_the_job_finishes(endpoint, server, user):
    server.fail("retrieve", 429, error_body("Slow down.", type_="requests"), retry_after_ms="1500")
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert services.generation_poll(generation.pk) == pytest.approx(1.5)
    generation = _run(generation)
    assert generation.state == State.SUCCEEDED
    assert len(server.jobs) == 1


def test_the_deadline_ends_a_job_the_server_never_finishes(endpoint, server, user):
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    services.generation_poll(generation.pk)
    Generation.objects.filter(pk=generation.pk).update(deadline_at="2000-01-01T00:00:00Z")
    services.generation_poll(generation.pk)
    assert _refresh(generation).state == State.FAILED
    assert generation.error_code == "timeout"
    assert len(server.jobs) == 1


def test_a_403_on_download_is_retried_then_the_video_is_saved(endpoint, server, user):
    server.fail("content", 403, error_body("Files [file_1] are not accessible"), times=2)
    generation = _create(user)
    services.generation_submit(generation.pk)
    _poll_until_moved(generation)
    for _ in range(2):
        services.generation_download(generation.pk)
        assert _refresh(generation).state == State.DOWNLOADING
    generation = _run(generation)
    assert generation.state == State.SUCCEEDED
    assert server.calls["content:video"] == 3 and len(server.jobs) == 1


def test_a_download_after_expiry_fails_with_a_clear_message(endpoint, server, user):
    server.fail("content", 404, error_body("Not found."), times=1)
    generation = _create(user)
    services.generation_submit(generation.pk)
    _poll_until_moved(generation)
    job = server.jobs[generation.provider_job_id]
    job.created_at -= 7200  # completed and expired an hour ago
    services.generation_download(generation.pk)
    assert _refresh(generation).state == State.FAILED
    assert "expired before Studio could save it" in generation.error_message
    assert not Video.objects.filter(generation=generation).exists()


# --- remix and extend -------------------------------------------------------------------------


def test_remix_and_extend_start_from_the_parents_server_job(endpoint, server, user):
    parent = _run(_create(user))
    source = parent.videos.get()

    remix = _run(
        services.generation_create(
            owner=source.owner,
            spec=GenerationSpec.derived(source, operation="remix", prompt="make it night"),
        )
    )
    extension = _run(
        services.generation_create(
            owner=source.owner,
            spec=GenerationSpec.derived(source, operation="extend", prompt="keep going", seconds=8),
        )
    )

    assert remix.state == State.SUCCEEDED and extension.state == State.SUCCEEDED
    assert server.jobs[remix.provider_job_id].remixed_from_video_id == parent.provider_job_id
    assert server.jobs[extension.provider_job_id].seconds == "12"  # the stitched total
    paths = [r["path"] for r in server.requests]
    assert paths == [
        "/v1/videos",
        f"/v1/videos/{parent.provider_job_id}/remix",
        "/v1/videos/extensions",
    ]
    assert len(server.jobs) == 3


def test_remix_is_refused_for_a_video_another_provider_made(endpoint, user):
    from tests.factories import make_generation, make_video

    video = make_video(make_generation(user, state=State.SUCCEEDED))
    with pytest.raises(ValidationError):
        services.generation_create(
            owner=video.owner, spec=GenerationSpec.derived(video, operation="remix", prompt="again")
        )


def test_provider_objects_are_plain_configs(server):
    config = EndpointConfig.from_mapping(
        {"slug": "x", "base_url": server.base_url, "model_ids": "a, b", "seconds": [4, "8"]}
    )
    provider = OpenAICompatProvider(config)
    assert provider.slug == "openai-x" and config.model_ids == ("a", "b")
    assert config.seconds == (4, 8)
    assert provider.size_for(720, 1280) == "720x1280"
    with pytest.raises(PermanentError):
        provider.size_for(640, 480)


# --- webhooks ------------------------------------------------------------------------------


def _event(job_id: str, kind: str = "video.completed") -> bytes:
    body = {"id": "evt_1", "object": "event", "created_at": 1, "type": kind, "data": {"id": job_id}}
    return json.dumps(body).encode()


def _running(user, server: FakeVideoServer) -> Generation:
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.RUNNING
    return generation


def test_a_signed_webhook_rereads_the_job_and_moves_it_on_at_once(endpoint, server, user, client):
    generation = _running(user, server)
    server.finish_all()
    body = _event(generation.provider_job_id)

    response = client.post(
        "/webhooks/openai/loop/", body, content_type="application/json", headers=server.sign(body)
    )

    assert response.status_code == 200
    assert _refresh(generation).state == State.DOWNLOADING
    assert server.calls["retrieve"] == 1


def test_a_webhook_body_is_never_trusted(endpoint, server, user, client):
    generation = _running(user, server)
    body = _event(generation.provider_job_id)  # says completed; the server says rendering
    response = client.post(
        "/webhooks/openai/loop/", body, content_type="application/json", headers=server.sign(body)
    )
    assert response.status_code == 200
    assert _refresh(generation).state == State.RUNNING
    assert server.calls["retrieve"] == 1


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "future", "missing"])
def test_a_bad_or_stale_webhook_signature_is_refused(endpoint, server, user, client, tamper):
    generation = _running(user, server)
    server.finish_all()
    body = _event(generation.provider_job_id)
    headers = server.sign(body)
    if tamper == "body":
        body = _event("video_999999")
    elif tamper == "secret":
        endpoint.webhook_secret = "whsec_" + "QUJD" * 8
        endpoint.save()
    elif tamper in ("stale", "future"):
        shift = -600 if tamper == "stale" else 600
        headers = server.sign(body, timestamp=int(time.time()) + shift)
    else:
        del headers["webhook-signature"]

    response = client.post(
        "/webhooks/openai/loop/", body, content_type="application/json", headers=headers
    )

    assert response.status_code == 400
    assert _refresh(generation).state == State.RUNNING
    assert server.calls["retrieve"] == 0


def test_a_webhook_for_an_unknown_endpoint_is_not_found(client):
    assert (
        client.post("/webhooks/openai/nope/", b"{}", content_type="application/json").status_code
        == 404
    )


# --- admin ---------------------------------------------------------------------------------


def test_admin_never_shows_secrets_and_keeps_them_when_left_blank(endpoint, admin_client):
    url = f"/admin/openai_compat/videoendpoint/{endpoint.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "sk-test" not in page and endpoint.webhook_secret not in page
    assert "/webhooks/openai/loop/" in page
    form = {
        "name": "Loopback 2",
        "slug": "loop",
        "enabled": "on",
        "base_url": endpoint.base_url,
        "api_key": "",
        "model_ids": "vid-1",
        "sizes": "1280x720",
        "seconds": "4,8",
        "webhook_secret": "",
    }
    assert admin_client.post(url, form).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.api_key) == ("Loopback 2", "sk-test")
    assert endpoint.webhook_secret.startswith("whsec_")
    admin_client.post(url, {**form, "api_key": "sk-new", "clear_webhook_secret": "on"})
    endpoint.refresh_from_db()
    assert (endpoint.api_key, endpoint.webhook_secret) == ("sk-new", "")


# --- remix / extend in the UI -------------------------------------------------------------------


def test_the_detail_page_offers_remix_and_extend_only_when_the_endpoint_can(
    endpoint, server, user, owner_client
):
    video = _run(_create(user)).videos.get()
    page = owner_client.get(f"/videos/{video.pk}/").content.decode()
    assert 'id="remix-form"' in page and 'id="extend-form"' in page

    endpoint.remix = endpoint.extend = False
    endpoint.save()
    page = owner_client.get(f"/videos/{video.pk}/").content.decode()
    assert "remix-form" not in page and "extend-form" not in page


def test_the_remix_action_makes_a_generation_from_the_video(endpoint, server, user, owner_client):
    video = _run(_create(user)).videos.get()
    response = owner_client.post(
        f"/videos/{video.pk}/derive/",
        {"operation": "extend", "prompt": "on and on", "seconds": "8"},
    )
    derived = Generation.objects.get(source_video=video)
    assert response.status_code == 302 and response["Location"] == derived.get_absolute_url()
    assert (derived.operation, derived.seconds, derived.parent_id) == (
        "extend",
        8,
        video.generation_id,
    )
    assert _run(derived).state == State.SUCCEEDED
    assert server.calls["extend"] == 1 and len(server.jobs) == 2


def test_an_offline_video_offers_no_remix(user, owner_client):
    from tests.pipeline import make_finished

    video = make_finished(user).videos.get()
    page = owner_client.get(f"/videos/{video.pk}/").content.decode()
    assert "remix-form" not in page
    response = owner_client.post(
        f"/videos/{video.pk}/derive/", {"operation": "remix", "prompt": "x"}
    )
    assert response.status_code == 302
    assert not Generation.objects.filter(source_video=video).exists()


@pytest.mark.parametrize("status", [408, 503])
def test_create_errors_that_made_nothing_are_retried_and_make_one_job(
    endpoint, server, user, status
):
    server.fail("create", status, error_body("Try again.", type_="server_error"))
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.SUBMITTING
    assert generation.events.filter(message__startswith="submit will be retried").exists()
    assert _run(generation).state == State.SUCCEEDED
    assert len(server.jobs) == 1


def test_a_server_that_cannot_be_reached_is_a_transient_error(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = EndpointConfig(slug="gone", name="Gone", base_url=f"http://127.0.0.1:{port}/v1")
    provider = OpenAICompatProvider(config)
    request = JobRequest(key="k-gone", prompt="p", width=1280, height=720, seconds=4, fps=24)
    with pytest.raises(TransientError) as error:
        provider.submit(request)
    assert error.value.code == "connection"
    # No connection, so no request was sent: nothing to find, and sending again is safe.
    assert provider.find_job("k-gone") is None
    assert provider._read_marker("k-gone") is None
