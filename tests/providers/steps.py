"""Driving one generation on a hosted provider through the pipeline's services, step by
step in this process (the workers' order), for the provider tests."""

from __future__ import annotations

from typing import Any

from delivery import services as delivery_services
from generations import services
from generations.models import Asset, Generation
from generations.spec import GenerationSpec
from generations.states import State
from tests.conftest import wait_for


def refresh(generation: Generation) -> Generation:
    generation.refresh_from_db()
    return generation


def create(user: Any, provider: str, **fields: Any) -> Generation:
    spec: dict[str, Any] = {
        "prompt": "a red kite over a green hill",
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "provider": provider,
    }
    spec.update(fields)
    return services.generation_create(owner=user, spec=GenerationSpec(**spec))


def poll_until_moved(generation: Generation, timeout: float = 30) -> Generation:
    def moved() -> bool:
        services.generation_poll(generation.pk)
        return refresh(generation).state != State.RUNNING

    wait_for(moved, timeout, "the job to leave running")
    return generation


def run(generation: Generation) -> Generation:
    """Every step the workers would take, in order: submit, polls, download, finish."""
    services.generation_submit(generation.pk)
    if refresh(generation).state == State.RUNNING:
        poll_until_moved(generation)
    services.generation_download(generation.pk)
    delivery_services.generation_finish(generation.pk)
    return refresh(generation)


def image_asset(user: Any, size: tuple[int, int] = (300, 200)) -> Asset:
    """An uploaded reference image of the user's, through the upload service."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (20, 90, 200)).save(out, "PNG")
    upload = SimpleUploadedFile("ref.png", out.getvalue(), content_type="image/png")
    return services.asset_create(owner=user, upload=upload)
