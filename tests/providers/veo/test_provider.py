"""Google Veo against a real loopback Vertex AI server (OAuth token endpoint included),
through the official ``google-genai`` SDK over real sockets, with the pipeline's services
run step by step. Every misbehaviour ends the job in the right state with exactly one
operation on the server."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import av
import pytest
from django.test import override_settings

from generations import services
from generations.states import State
from providers.registry import available_providers, get_provider
from providers.veo.models import VeoAccount
from tests.providers.steps import create, image_asset, refresh, run
from tests.providers.veo.server import VeoServer, service_account_file

pytestmark = pytest.mark.django_db

VEO3 = "veo-3.1-generate-001"


@pytest.fixture
def server() -> Iterator[VeoServer]:
    with VeoServer() as fake:
        yield fake


@pytest.fixture
def account(server: VeoServer, tmp_path) -> VeoAccount:
    key = service_account_file(tmp_path, server.token_uri)
    return VeoAccount.objects.create(
        project="studio-test", credentials_file=str(key), base_url=server.base_url
    )


def _create(user, **fields):
    fields.setdefault("model", VEO3)
    fields.setdefault("seconds", 8)
    return create(user, "veo", **fields)


def test_veo_is_offered_only_with_a_project_and_credentials(server, tmp_path):
    assert "veo" not in [p.slug for p in available_providers()]
    with override_settings(STUDIO_VEO_PROJECT="p", STUDIO_VEO_CREDENTIALS_FILE="/k.json"):
        assert "veo" in [p.slug for p in available_providers()]
    caps = get_provider("veo").capabilities(VEO3)
    assert caps.audio and caps.last_frame and caps.max_variations == 4
    assert caps.seconds_choices == (4, 6, 8)


def test_variations_run_end_to_end_to_real_mp4s_in_the_library(account, server, pro_user):
    generation = run(_create(pro_user, variations=2, resolution="1080p", aspect_ratio="9:16"))

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.creates() == 1 and len(server.jobs) == 1
    job = next(iter(server.jobs.values()))
    assert generation.provider_job_id == job.name
    assert job.model == VEO3
    assert job.instance == {"prompt": "a red kite over a green hill"}
    assert job.parameters == {
        "sampleCount": 2,
        "durationSeconds": 8,
        "aspectRatio": "9:16",
        "resolution": "1080p",
        "seed": generation.seed % 4294967295,
        "generateAudio": False,
    }
    assert server.calls["token"] == 1  # the service-account JWT grant, once
    videos = list(generation.videos.order_by("index"))
    assert len(videos) == 2
    for video in videos:
        with av.open(video.file.path) as container:
            assert sum(1 for _ in container.decode(video=0)) == 24


def test_a_reference_image_is_the_first_frame(account, server, user):
    generation = run(_create(user, reference=image_asset(user)))
    assert generation.state == State.SUCCEEDED, generation.error_message
    image = next(iter(server.jobs.values())).instance["image"]
    assert image["mimeType"] == "image/png"
    assert base64.b64decode(image["bytesBase64Encoded"])[:4] == b"\x89PNG"


def test_an_operation_with_only_rai_filtered_videos_ends_rejected_with_the_reasons(
    account, server, user
):
    server.outcome = "rai"
    generation = run(_create(user))
    assert generation.state == State.REJECTED
    assert "usage guidelines" in generation.error_message
    assert len(server.jobs) == 1


def test_an_operation_done_with_an_error_fails(account, server, user):
    server.outcome = "error"
    generation = run(_create(user))
    assert (generation.state, generation.error_message) == (
        State.FAILED,
        "Internal error encountered.",
    )


def test_a_slow_operation_is_polled_until_done(account, server, user):
    server.render_seconds = 0.8
    generation = run(_create(user))
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.calls["fetch"] >= 2


# --- exactly once -----------------------------------------------------------------------


def test_a_429_is_retried_later_and_makes_one_operation(account, server, user):
    server.fail("create", 429, {"error": {"code": 429, "message": "Quota exceeded"}})
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    assert server.calls["create"] == 1  # the SDK does not retry by default
    generation = run(generation)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert server.calls["create"] == 2 and len(server.jobs) == 1


def test_a_500_after_vertex_accepted_the_create_is_never_sent_again(account, server, user):
    server.accept_then_fail = 1
    generation = _create(user)
    services.generation_submit(generation.pk)
    services.generation_submit(generation.pk)
    generation = refresh(generation)
    assert generation.state == State.FAILED and generation.error_code == "unknown_outcome"
    assert server.creates() == 1 and len(server.jobs) == 1


def test_a_create_that_times_out_after_being_accepted_is_never_sent_again(account, server, user):
    server.stall_create.set()
    generation = _create(user)
    with override_settings(STUDIO_PROVIDER_TIMEOUT_SECONDS=1):
        services.generation_submit(generation.pk)
    assert refresh(generation).state == State.SUBMITTING
    server.stall_create.clear()
    server.release_create.set()
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.FAILED
    assert server.creates() == 1


def test_opt_in_retries_apply_to_polls_only(account, server, user):
    account.retry_attempts = 3
    account.save()
    server.fail("create", 503, {"error": {"code": 503, "message": "Unavailable"}})
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert server.calls["create"] == 1  # the create is never retried by the SDK
    services.generation_submit(generation.pk)
    assert refresh(generation).state == State.FAILED  # a 503 after sending: outcome unknown
    assert server.calls["create"] == 1

    second = _create(user, prompt="again")
    services.generation_submit(second.pk)
    server.fail("fetch", 503, {"error": {"code": 503, "message": "Unavailable"}}, times=2)
    services.generation_poll(second.pk)
    assert refresh(second).state == State.DOWNLOADING  # the SDK's retries got through
    assert server.calls["fetch"] == 3


# --- last frame, subject references, outputs in a bucket ----------------------------------


def test_a_last_frame_is_sent_as_the_operations_last_frame(account, server, user):
    generation = run(_create(user, reference=image_asset(user), last_frame=image_asset(user)))

    assert generation.state == State.SUCCEEDED, generation.error_message
    instance = next(iter(server.jobs.values())).instance
    for part in ("image", "lastFrame"):
        assert instance[part]["mimeType"] == "image/png"
        assert base64.b64decode(instance[part]["bytesBase64Encoded"])[:4] == b"\x89PNG"
    assert generation.last_frame is not None


def test_a_model_without_last_frames_refuses_one_with_a_form_error(account, server, user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        _create(user, model="veo-2.0-generate-001", seconds=8, last_frame=image_asset(user))
    assert refused.value.message_dict["last_frame"] == [
        "Google Veo cannot end on a chosen frame with this model."
    ]
    assert server.creates() == 0


def test_a_subject_reference_is_an_asset_reference_image_not_the_first_frame(account, server, user):
    generation = run(_create(user, reference=image_asset(user), reference_as="subject"))

    assert generation.state == State.SUCCEEDED, generation.error_message
    instance = next(iter(server.jobs.values())).instance
    assert "image" not in instance
    (reference,) = instance["referenceImages"]
    assert reference["referenceType"] == "ASSET"
    assert base64.b64decode(reference["image"]["bytesBase64Encoded"])[:4] == b"\x89PNG"


def test_a_subject_reference_is_refused_where_the_model_takes_none(account, server, user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        _create(
            user,
            model="veo-3.1-fast-generate-001",
            reference=image_asset(user),
            reference_as="subject",
        )
    assert refused.value.message_dict["reference_as"] == [
        "Google Veo takes no subject reference with this model."
    ]
    assert server.creates() == 0


def test_videos_written_to_a_bucket_are_read_back_from_their_gs_uris(account, server, pro_user):
    account.output_gcs_uri = "gs://studio-out/veo/"
    account.save()
    with override_settings(STUDIO_VEO_STORAGE_URL=server.origin):
        generation = run(_create(pro_user, variations=2, audio=True))

    assert generation.state == State.SUCCEEDED, generation.error_message
    job = next(iter(server.jobs.values()))
    assert job.parameters["storageUri"] == "gs://studio-out/veo/"
    assert server.calls["object"] == 2  # one authorised read per video, never inline bytes
    object_reads = [r for r in server.requests if r["op"] == "object"]
    assert all(r["query"] == {"alt": ["media"]} for r in object_reads)
    assert all(r["path"].startswith("/storage/v1/b/studio-out/o/veo%2F") for r in object_reads)
    for video in generation.videos.order_by("index"):
        with av.open(video.file.path) as container:
            assert sum(1 for _ in container.decode(video=0)) == 24
            assert container.streams.audio  # the sound track came through the bucket


def test_a_bucket_object_the_account_cannot_read_fails_with_a_plain_message(account, server, user):
    account.output_gcs_uri = "gs://studio-out/veo/"
    account.save()
    server.fail("object", 403, {"error": {"code": 403, "message": "Forbidden"}})
    with override_settings(STUDIO_VEO_STORAGE_URL=server.origin):
        generation = run(_create(user))

    assert generation.state == State.FAILED
    assert "could not be read from its bucket" in generation.error_message
    assert len(server.jobs) == 1
