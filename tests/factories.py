"""Factories for test objects, made through the real services where it matters."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from generations.models import Generation, Video
from generations.states import State


def make_generation(owner: Any, *, state: str = State.QUEUED, **fields: Any) -> Generation:
    """A Generation row in the given state, without running the pipeline (past draft it
    counts as admitted: it holds one of its owner's concurrent-job slots)."""
    defaults: dict[str, Any] = {
        "prompt": "a lighthouse at dusk, waves rolling in",
        "provider": "offline",
        "seed": 7,
        "seconds": 1,
        "resolution": "480p",
        "admitted_at": None if state == State.DRAFT else timezone.now(),
    }
    defaults.update(fields)
    return Generation.objects.create(owner=owner, state=state, **defaults)


def make_video(generation: Generation, *, index: int = 0) -> Video:
    return Video.objects.create(
        owner=generation.owner, generation=generation, index=index, file="videos/x/video.mp4"
    )
