"""Sound: a model that makes audio is asked for it when the creator ticks "with sound", and
the provider's MP4 with its audio track, fetched through the loopback server, is kept in
both renditions (the clean file and the delivery) in sync with the picture within a frame.
A model without sound refuses the tick with a form error."""

from __future__ import annotations

from collections.abc import Iterator

import av
import pytest
from django.core.exceptions import ValidationError

from generations.states import State
from providers.runway.models import RunwayAccount
from tests.providers.runway.server import API_KEY, RunwayServer
from tests.providers.steps import create, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def server() -> Iterator[RunwayServer]:
    with RunwayServer() as fake:
        yield fake


@pytest.fixture
def account(server: RunwayServer) -> RunwayAccount:
    return RunwayAccount.objects.create(api_key=API_KEY, base_url=server.base_url)


def _streams(path: str) -> tuple[float, float, float, float]:
    """(video start, video end, audio start, audio end) in seconds."""
    with av.open(path) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        v_times = [float(f.time) for f in container.decode(video)]
        container.seek(0)
        a_frames = list(container.decode(audio))
        frame = 1 / float(video.average_rate)
    a_start = float(a_frames[0].time)
    a_end = float(a_frames[-1].time) + a_frames[-1].samples / a_frames[-1].sample_rate
    return v_times[0], v_times[-1] + frame, a_start, a_end


def test_a_video_with_sound_keeps_its_track_in_sync_in_both_renditions(account, server, user):
    generation = run(create(user, "runway", model="veo3.1", seconds=4, audio=True))

    assert generation.state == State.SUCCEEDED, generation.error_message
    assert next(iter(server.tasks.values())).body["audio"] is True
    video = generation.videos.get()
    assert video.file and video.delivery
    for rendition in (video.file, video.delivery):
        v_start, v_end, a_start, a_end = _streams(rendition.path)
        assert abs(a_start - v_start) <= 1 / 24
        assert abs(a_end - v_end) <= 1 / 24


def test_without_the_tick_no_sound_is_asked_for(account, server, user):
    generation = run(create(user, "runway", model="veo3.1", seconds=4))
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert next(iter(server.tasks.values())).body["audio"] is False


def test_a_model_without_sound_refuses_the_tick(account, user):
    with pytest.raises(ValidationError) as refused:
        create(user, "runway", model="gen4.5", seconds=5, audio=True)
    assert "makes no sound" in refused.value.message_dict["audio"][0]


def test_the_library_marks_videos_with_sound_and_the_player_has_a_mute_toggle(
    account, server, user, client
):
    loud = run(create(user, "runway", model="veo3.1", seconds=4, audio=True))
    quiet = run(create(user, "runway", model="veo3.1", seconds=4, prompt="a quiet lake"))
    assert (loud.state, quiet.state) == (State.SUCCEEDED, State.SUCCEEDED)
    assert loud.videos.get().has_sound and not quiet.videos.get().has_sound
    client.force_login(user, backend="accounts.backends.CachedModelBackend")

    gallery = client.get("/gallery/").content.decode()
    assert gallery.count('class="sound-mark"') == 1
    loud_page = client.get(f"/generations/{loud.pk}/").content.decode()
    assert 'class="button mute-toggle" data-target="#player"' in loud_page
    quiet_page = client.get(f"/generations/{quiet.pk}/").content.decode()
    assert "mute-toggle" not in quiet_page
