"""Library fixtures: finished-looking generations made fast (rows, no files) for the grid
and search, and their takes."""

from __future__ import annotations

from typing import Any

import pytest

from generations.models import Generation, Video
from generations.states import State
from tests.factories import make_generation


def card(owner: Any, prompt: str, *, takes: int = 1, **fields: Any) -> Generation:
    """A succeeded generation with ``takes`` videos (rows only) of the right shape."""
    generation = make_generation(owner, state=State.SUCCEEDED, prompt=prompt, **fields)
    width, height = generation.size
    # Made in reverse, so that creation order is not index order.
    for index in reversed(range(takes)):
        Video.objects.create(
            owner=owner,
            generation=generation,
            index=index,
            file=f"videos/x/{generation.pk}-{index}.mp4",
            width=width,
            height=height,
            duration=float(generation.seconds),
            watermark=Video.Watermark.VISIBLE,
        )
    return generation


@pytest.fixture
def make_card() -> Any:
    return card
