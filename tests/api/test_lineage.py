"""Remix, edits and extensions through /v1/ make child generations of the caller's video
(``parent`` and ``source_video``), on the provider that made it; a model that cannot remix
says so; and Studio on Studio: one Studio's OpenAI-compatible provider talks to another
Studio's API, both live on loopback, with a real worker."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from api.keys import apikey_create
from generations.models import Generation
from generations.services import generation_create
from generations.spec import GenerationSpec
from generations.states import State
from tests.api.conftest import StudioServer, sdk
from tests.conftest import put_on_plan, wait_final
from tests.pipeline import make_finished, run_inline
from tests.providers.openai_compat.server import FakeVideoServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fake() -> Iterator[FakeVideoServer]:
    with FakeVideoServer() as server:
        yield server


def test_remix_edit_and_extension_make_children_with_lineage(studio, user, key, fake):
    fake.endpoint(remix=True, extend=True)
    source = run_inline(
        generation_create(
            owner=user,
            spec=GenerationSpec(
                prompt="a red kite",
                provider="openai-loop",
                model="vid-1",
                seconds=4,
                resolution="720p",
                aspect_ratio="16:9",
            ),
        )
    )
    client = sdk(studio, key)
    vid = "video_" + source.pk.hex

    remix = client.videos.remix(vid, prompt="the same kite, at night")
    assert remix.remixed_from_video_id == vid and remix.status == "queued"
    extension = client.post(
        "/videos/extensions",
        body={"prompt": "it flies on", "seconds": "8", "video": {"id": vid}},
        cast_to=openai.types.Video,
    )
    edit = client.post(
        "/videos/edits",
        body={"prompt": "a blue kite", "video": {"id": vid}},
        cast_to=openai.types.Video,
    )
    children = {g.pk.hex: g for g in Generation.objects.filter(parent=source)}
    assert len(children) == 3
    source_video = source.videos.get()
    for video, operation in ((remix, "remix"), (extension, "extend"), (edit, "remix")):
        child = children[video.id.removeprefix("video_")]
        assert child.operation == operation and child.source_video == source_video
        assert child.provider == "openai-loop" and child.model == "vid-1"
    assert extension.seconds == "8"
    assert edit.prompt == "a blue kite"


def test_a_model_that_cannot_remix_says_so(studio, user, key):
    finished = make_finished(user)
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(studio, key).videos.remix("video_" + finished.pk.hex, prompt="again")
    assert "cannot remix" in caught.value.message
    assert Generation.objects.count() == 1


def test_only_a_completed_video_can_be_remixed(studio, user, key, fake):
    fake.endpoint(remix=True)
    running = generation_create(
        owner=user,
        spec=GenerationSpec(prompt="a kite", provider="openai-loop", model="vid-1", seconds=4),
    )
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(studio, key).videos.remix("video_" + running.pk.hex, prompt="again")
    assert caught.value.param == "video_id"


@pytest.mark.worker
def test_studio_on_studio_a_uses_b_as_its_openai_compatible_endpoint(
    user, other_user, start_worker
):
    """A's creator (``user``) generates on provider "openai-b", which is Studio B's /v1/
    under B's creator (``other_user``) key; B renders with its offline renderer."""
    put_on_plan(other_user, "Pro")
    b = StudioServer()
    try:
        from providers.openai_compat.models import VideoEndpoint

        VideoEndpoint.objects.create(
            slug="b",
            name="Studio B",
            base_url=b.base_url,
            api_key=apikey_create(owner=other_user, name="studio A").secret,
            model_ids="offline",
            sizes="480x480",
            seconds="1,2",
        )
        start_worker()
        generation = generation_create(
            owner=user,
            spec=GenerationSpec(
                prompt="a tram crossing a bridge",
                provider="openai-b",
                model="offline",
                resolution="480p",
                aspect_ratio="1:1",
                seconds=1,
            ),
        )
        generation = wait_final(generation, 150)
        assert generation.state == State.SUCCEEDED, generation.error_message
        on_b = Generation.objects.get(owner=other_user)
        assert generation.provider_job_id == "video_" + on_b.pk.hex
        assert on_b.state == State.SUCCEEDED and on_b.provider == "offline"
        video = generation.videos.get()
        assert video.frames == 24 and (video.width, video.height) == (480, 480)
    finally:
        b.close()
