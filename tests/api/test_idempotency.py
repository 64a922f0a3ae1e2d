"""Idempotency-Key on creates: the SDK's own retries after a 500 that came after the server
accepted the job make exactly one video; the same key with another body is a 409."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from api.models import IdempotencyRecord
from generations.models import Generation
from tests.api.conftest import StudioServer, sdk

pytestmark = pytest.mark.django_db(transaction=True)


class FailCreatesAfterAccept:
    """WSGI wrapper, the one seam: the first ``times`` POST /v1/videos run in full (the job
    is accepted and committed), then each answer is replaced by a 500."""

    times = 2

    def __init__(self, app: Any) -> None:
        self.app = app
        self.failed = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if (
            environ["REQUEST_METHOD"] == "POST"
            and environ["PATH_INFO"] == "/v1/videos"
            and self.failed < self.times
        ):
            body = b"".join(self.app(environ, lambda *a, **k: None))
            assert b'"object": "video"' in body or b'"object":"video"' in body
            self.failed += 1
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [b'{"error": {"message": "injected", "type": "server_error"}}']
        return self.app(environ, start_response)


@pytest.fixture
def flaky_studio():
    wrapper: list[FailCreatesAfterAccept] = []

    def wrap(app: Any) -> Any:
        wrapper.append(FailCreatesAfterAccept(app))
        return wrapper[0]

    server = StudioServer(wrap=wrap)
    server.wrapper = wrapper[0]
    yield server
    server.close()


def test_the_sdks_retries_after_an_injected_500_make_exactly_one_video(flaky_studio, user, key):
    client = sdk(flaky_studio, key, max_retries=2)
    raw = client.videos.with_raw_response.create(
        prompt="a heron in the reeds", seconds="1", extra_headers={"Idempotency-Key": "job-42"}
    )
    video = raw.parse()
    assert flaky_studio.wrapper.failed == 2  # the first two answers were lost
    assert raw.retries_taken == 2 and raw.headers["Idempotent-Replayed"] == "true"
    generation = Generation.objects.get()
    assert video.id == "video_" + generation.pk.hex and video.status == "queued"
    assert IdempotencyRecord.objects.get().generation == generation


def test_without_a_key_the_same_retries_make_duplicates(flaky_studio, user, key):
    """Why the key matters: the SDK sends none by itself."""
    client = sdk(flaky_studio, key, max_retries=2)
    client.videos.create(prompt="a heron in the reeds", seconds="1")
    assert Generation.objects.count() == 3


def test_another_owner_may_use_the_same_key_for_their_own_video(
    studio, user, other_user, key, other_key
):
    headers = {"Idempotency-Key": "shared-name"}
    mine = sdk(studio, key).videos.create(prompt="mine", seconds="1", extra_headers=headers)
    theirs = sdk(studio, other_key).videos.create(
        prompt="theirs", seconds="1", extra_headers=headers
    )
    assert mine.id != theirs.id and theirs.prompt == "theirs"
    assert Generation.objects.filter(owner=other_user).count() == 1


def test_the_same_key_with_another_body_is_a_409_and_the_same_body_replays(studio, user, key):
    client = sdk(studio, key)
    headers = {"Idempotency-Key": "nightly-1"}
    first = client.videos.create(prompt="dawn over hills", seconds="1", extra_headers=headers)
    again = client.videos.with_raw_response.create(
        prompt="dawn over hills", seconds="1", extra_headers=headers
    )
    assert again.parse().id == first.id and again.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(openai.ConflictError) as caught:
        client.videos.create(prompt="dusk over hills", seconds="1", extra_headers=headers)
    assert caught.value.code == "idempotency_key_reused"
    assert Generation.objects.count() == 1
