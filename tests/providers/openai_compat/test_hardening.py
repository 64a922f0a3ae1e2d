"""What a hostile or odd OpenAI-compatible server cannot do to Studio: hand a creator another
client's job after a lost create answer, make a second job while its list lags, have an
HTML page stored as the video, end a job with a status word of another dialect, or get a
500 out of the webhook receiver. A real loopback server, driven through the official SDK."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from delivery import services as delivery_services
from generations import services
from generations.models import Generation, GenerationEvent, Video
from generations.spec import GenerationSpec
from generations.states import State
from providers.base import JobState
from providers.openai_compat.models import VideoEndpoint
from providers.openai_compat.protocol import progress_percent, status_state
from tests.conftest import wait_for
from tests.fuzz import fuzz
from tests.providers.openai_compat.server import FakeVideoServer, error_body

pytestmark = pytest.mark.django_db

SLUG = "openai-loop"
PROMPT = "a red kite over a green hill"
SAME = {"model": "vid-1", "size": "1280x720", "seconds": "4"}
HTML = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in</body></html>"


@pytest.fixture
def server() -> Iterator[FakeVideoServer]:
    with FakeVideoServer() as fake:
        yield fake


@pytest.fixture
def endpoint(server: FakeVideoServer) -> VideoEndpoint:
    return server.endpoint(webhook_secret=server.webhook_secret)


def _create(user, **fields) -> Generation:
    spec = {
        "prompt": PROMPT,
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "seconds": 4,
        "provider": SLUG,
        "model": "vid-1",
        **fields,
    }
    return services.generation_create(owner=user, spec=GenerationSpec(**spec))


def _refresh(generation: Generation) -> Generation:
    generation.refresh_from_db()
    return generation


def _lost_create(user, server: FakeVideoServer, *, made: bool) -> Generation:
    """A generation whose create was answered with a 500: after the server made the job
    (``made``) or without making one. Either way Studio cannot know which."""
    if made:
        server.accept_then_fail = 1
    else:
        server.fail("create", 500, error_body("The server had an error.", type_="server_error"))
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.SUBMITTING
    assert not generation.provider_job_id
    return generation


def _messages(generation: Generation) -> list[str]:
    return list(generation.events.values_list("message", flat=True))


# --- 8: reconciliation adopts only a job it can prove is its own ------------------------------


def test_another_clients_same_settings_job_made_before_the_send_is_never_adopted(
    endpoint, server, user
):
    # The other client's job was made 60 s before ours was sent; ours was never made.
    twin = server.add_job(PROMPT, created_at=time.time() - 60, **SAME)
    generation = _lost_create(user, server, made=False)

    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.SUBMITTING
    assert generation.provider_job_id == ""
    assert any("waiting for the job to show" in m for m in _messages(generation))

    with override_settings(STUDIO_OPENAI_RECONCILE_GRACE_SECONDS=0):
        services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.FAILED
    assert generation.error_code == "reconcile_unproven"
    assert "it was not sent again" in generation.error_message
    assert generation.provider_job_id != twin.id
    assert server.calls["create"] == 1 and len(server.jobs) == 1


def test_of_an_older_twin_and_its_own_job_reconciliation_takes_its_own(endpoint, server, user):
    twin = server.add_job(PROMPT, created_at=time.time() - 60, **SAME)
    generation = _lost_create(user, server, made=True)
    ours = next(j for j in server.jobs.values() if j.id != twin.id)

    services.generation_submit(generation.pk)

    assert _refresh(generation).state == State.RUNNING
    assert generation.provider_job_id == ours.id
    assert server.calls["create"] == 1


def test_a_job_whose_listed_fields_are_missing_is_not_taken_as_a_match(endpoint, server, user):
    server.list_omits = {"prompt"}
    generation = _lost_create(user, server, made=False)
    # Another client's job with the same settings but another prompt, made after our send:
    # without its prompt in the list, nothing proves it is ours.
    other = server.add_job("somebody else's prompt", **SAME)

    with override_settings(STUDIO_OPENAI_RECONCILE_GRACE_SECONDS=0):
        services.generation_submit(generation.pk)

    assert _refresh(generation).state == State.FAILED
    assert generation.error_code == "reconcile_unproven"
    assert generation.provider_job_id != other.id
    assert server.calls["create"] == 1


def test_two_jobs_that_fit_equally_are_not_guessed_between(endpoint, server, user):
    generation = _lost_create(user, server, made=True)
    twin = server.add_job(PROMPT, **SAME)  # made after our send, by another client

    services.generation_submit(generation.pk)

    assert _refresh(generation).state == State.FAILED
    assert generation.error_code == "reconcile_ambiguous"
    assert twin.id in generation.error_message and "will not guess" in generation.error_message
    assert generation.provider_job_id == ""
    assert server.calls["create"] == 1


def test_a_list_that_lags_behind_its_creates_is_waited_for_not_answered_with_a_second_job(
    endpoint, server, user
):
    server.list_lag = 1.0
    generation = _lost_create(user, server, made=True)

    services.generation_submit(generation.pk)  # the list does not show the job yet
    assert _refresh(generation).state == State.SUBMITTING
    assert server.calls["list"] == 1 and server.creates == 1

    # The pipeline looks again after the error's retry_after; here, once the list caught up.
    job = next(iter(server.jobs.values()))
    wait_for(lambda: time.time() - job.created_at > server.list_lag, 30, "the list to catch up")
    services.generation_submit(generation.pk)

    assert _refresh(generation).state == State.RUNNING
    assert generation.provider_job_id == next(iter(server.jobs))
    assert server.creates == 1 and len(server.jobs) == 1


@pytest.mark.parametrize("status", [409, 500, 502])
def test_a_create_error_that_may_have_made_a_job_is_never_sent_again(
    endpoint, server, user, status
):
    server.fail("create", status, error_body("Try again.", type_="server_error"))
    generation = _create(user)
    services.generation_submit(generation.pk)
    assert _refresh(generation).state == State.SUBMITTING

    with override_settings(STUDIO_OPENAI_RECONCILE_GRACE_SECONDS=0):
        services.generation_submit(generation.pk)

    assert _refresh(generation).state == State.FAILED
    assert generation.error_code == "reconcile_unproven"
    assert server.calls["create"] == 1 and len(server.jobs) == 0


# --- 9: content is checked to be a video before anything is stored ---------------------------


def _run_to_download(user) -> Generation:
    generation = _create(user)
    services.generation_submit(generation.pk)
    wait_for(
        lambda: (
            services.generation_poll(generation.pk) is None
            and _refresh(generation).state != State.RUNNING
        ),
        30,
        "the job to leave running",
    )
    assert generation.state == State.DOWNLOADING
    services.generation_download(generation.pk)
    return _refresh(generation)


def test_an_html_page_answered_with_200_fails_the_download_and_stores_nothing(
    endpoint, server, user
):
    server.content_body = dict.fromkeys(
        ("video", "thumbnail", "spritesheet"), (HTML, "text/html; charset=utf-8")
    )

    generation = _run_to_download(user)

    assert generation.state == State.FAILED
    assert generation.error_code == "not_a_video"
    assert "sent a web page that is not a video" in generation.error_message
    ended = generation.events.get(to_state=State.FAILED)
    assert ended.from_state == State.DOWNLOADING
    assert not Video.objects.filter(generation=generation).exists()


def test_bytes_that_look_like_a_video_but_do_not_decode_are_refused(endpoint, server, user):
    server.content_body = {"video": (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000, "video/mp4")}
    generation = _run_to_download(user)
    assert generation.state == State.FAILED
    assert "not a readable video" in generation.error_message
    assert not Video.objects.filter(generation=generation).exists()


def test_a_thumbnail_that_is_not_an_image_is_skipped_and_the_video_is_kept(endpoint, server, user):
    server.content_body = {"thumbnail": (HTML, "text/html")}
    generation = _run_to_download(user)
    delivery_services.generation_finish(generation.pk)
    assert _refresh(generation).state == State.SUCCEEDED, generation.error_message
    video = generation.videos.get()
    assert not video.thumbnail
    assert video.spritesheet.read()[:2] == b"\xff\xd8"


# --- 10: status words of other dialects ------------------------------------------------------

DIALECTS = [
    {"queued": "pending", "in_progress": "processing", "completed": "succeeded"},
    {"queued": "in_queue", "in_progress": "running", "completed": "success"},
    {"queued": "submitted", "in_progress": "IN-PROGRESS", "completed": "Done"},
]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d["in_progress"])
def test_other_dialects_status_words_run_the_job_to_the_end(endpoint, server, user, dialect):
    server.dialect = dialect
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    job = next(iter(server.jobs.values()))

    def look() -> str:
        services.generation_poll(generation.pk)
        return server.speak(job.as_video(time.time()))["status"]

    assert look() == dialect["queued"]
    assert _refresh(generation).state == State.RUNNING
    job.created_at -= 1800  # half-way through its render: in progress
    assert look() == dialect["in_progress"]
    assert _refresh(generation).state == State.RUNNING, generation.error_message
    server.finish_all()
    assert look() == dialect["completed"]
    assert _refresh(generation).state == State.DOWNLOADING
    services.generation_download(generation.pk)
    delivery_services.generation_finish(generation.pk)
    assert _refresh(generation).state == State.SUCCEEDED
    assert len(server.jobs) == 1


def test_an_unknown_status_word_keeps_the_job_running_with_one_warning(endpoint, server, user):
    server.dialect = {"queued": "thinking-hard", "in_progress": "thinking-hard"}
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)

    for _ in range(3):
        services.generation_poll(generation.pk)

    assert _refresh(generation).state == State.RUNNING
    warnings = [m for m in _messages(generation) if "'thinking-hard'" in m]
    assert len(warnings) == 1
    assert "treated as still running" in warnings[0]
    server.finish_all()
    services.generation_poll(generation.pk)
    assert _refresh(generation).state == State.DOWNLOADING


def test_an_unknown_status_word_still_ends_at_the_deadline(endpoint, server, user):
    server.dialect = {"in_progress": "mulling", "queued": "mulling"}
    server.render_seconds = 3600
    generation = _create(user)
    services.generation_submit(generation.pk)
    services.generation_poll(generation.pk)
    Generation.objects.filter(pk=generation.pk).update(deadline_at="2000-01-01T00:00:00Z")
    services.generation_poll(generation.pk)
    assert _refresh(generation).state == State.FAILED
    assert generation.error_code == "timeout"


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("queued", JobState.QUEUED),
        ("PENDING", JobState.QUEUED),
        ("in progress", JobState.RUNNING),
        ("processing", JobState.RUNNING),
        ("succeeded", JobState.COMPLETED),
        ("done", JobState.COMPLETED),
        ("error", JobState.FAILED),
        ("cancelled", JobState.CANCELED),
        ("something new", None),
        ("", None),
    ],
)
def test_status_words_are_read_in_every_dialect(word, state):
    assert status_state(word) == state


@pytest.mark.parametrize(
    ("value", "percent"), [(None, 0), (42, 42), (42.7, 42), ("55%", 55), ("lots", 0), (250, 100)]
)
def test_progress_of_any_shape_is_a_percent(value, percent):
    assert progress_percent(value) == percent


# --- 7b: the webhook receiver validates the body's shape ----------------------------------


def _post(client, server: FakeVideoServer, body: bytes):
    return client.post(
        "/webhooks/openai/loop/", body, content_type="application/json", headers=server.sign(body)
    )


@pytest.mark.parametrize(
    "event",
    [
        {"type": ["video.completed"], "data": {"id": "video_000001"}},
        {"type": {"a": 1}, "data": {"id": "video_000001"}},
        {"type": "video.completed", "data": ["video_000001"]},
        {"type": "video.completed", "data": {"id": ["video_000001"]}},
        {"type": "video.completed", "data": {"id": 12}},
        {"type": "video.completed", "data": {"id": ""}},
        {"type": "video.completed", "data": {"id": "x" * 5000}},
        {"type": "video.completed"},
        ["video.completed"],
        "video.completed",
        None,
    ],
    ids=lambda e: json.dumps(e)[:40],
)
def test_a_signed_webhook_that_is_not_a_video_event_is_a_400(endpoint, server, client, event):
    response = _post(client, server, json.dumps(event).encode())
    assert response.status_code == 400
    assert response.content == b"Not a video event."
    assert server.calls["retrieve"] == 0


def test_a_signed_webhook_body_that_is_not_utf8_or_json_is_a_400(endpoint, server, client):
    for body in (b"\xff\xfe not utf-8", b"{not json", b"[" * 100_000):
        assert _post(client, server, body).status_code == 400


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
EVENTS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"type": st.one_of(st.sampled_from(["video.completed", "video.failed"]), JSON)},
        optional={"data": st.one_of(JSON, st.fixed_dictionaries({"id": JSON}))},
    ),
)


@fuzz(60)
@given(event=EVENTS)
def test_fuzz_any_signed_body_gets_a_200_or_a_400_and_moves_no_job(
    endpoint, server, user, client, event
):
    generations_before = Generation.objects.count()
    events_before = GenerationEvent.objects.count()
    response = _post(client, server, json.dumps(event).encode())
    assert response.status_code in (200, 400)
    assert Generation.objects.count() == generations_before
    assert GenerationEvent.objects.count() == events_before
