"""Hand-offs between steps where the result is local: the offline render says it is done,
and the worker that sees it done copies the files at once, with no poll or queue between."""

from __future__ import annotations

import pytest

from generations import services
from generations.spec import GenerationSpec
from generations.states import State
from providers.registry import get_provider

pytestmark = pytest.mark.django_db


def test_a_finished_offline_render_moves_its_job_to_finishing_without_a_poll(user):
    generation = services.generation_create(
        owner=user, spec=GenerationSpec(prompt="a kite", resolution="480p", seconds=1)
    )
    services.generation_submit(generation.pk)
    generation.refresh_from_db()
    assert generation.state == State.RUNNING

    get_provider("offline").run(generation.provider_job_id)

    generation.refresh_from_db()
    assert generation.state == State.FINISHING
    video = generation.videos.get()
    assert video.file.storage.exists(video.file.name)
    messages = list(generation.events.values_list("message", flat=True))
    assert "saving the result" in messages and "saved 1 video(s)" in messages


def test_a_render_that_ends_before_its_job_is_running_waits_for_the_poll(user):
    generation = services.generation_create(
        owner=user, spec=GenerationSpec(prompt="a kite", resolution="480p", seconds=1)
    )
    provider = get_provider("offline")
    services.generation_submit(generation.pk)
    generation.refresh_from_db()
    generation.__class__.objects.filter(pk=generation.pk).update(state=State.SUBMITTING)

    provider.run(generation.provider_job_id)  # no running job to move: nothing happens

    generation.refresh_from_db()
    assert generation.state == State.SUBMITTING
    assert not generation.videos.exists()
