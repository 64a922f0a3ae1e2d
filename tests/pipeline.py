"""Drive the pipeline in this process, step by step, without a broker (for unit tests)."""

from __future__ import annotations

from typing import Any

from delivery import services as delivery_services
from generations import services
from generations.models import Generation
from generations.spec import GenerationSpec
from generations.states import State
from providers.registry import get_provider


def run_inline(generation: Generation) -> Generation:
    """Run every step the workers would run, in order, and return the final generation."""
    services.generation_submit(generation.pk)
    generation.refresh_from_db()
    provider: Any = get_provider(generation.provider)
    if generation.provider == "offline":
        provider.run(generation.provider_job_id)
    services.generation_poll(generation.pk)
    services.generation_download(generation.pk)
    delivery_services.generation_finish(generation.pk)
    generation.refresh_from_db()
    assert generation.state == State.SUCCEEDED, generation.error_message
    return generation


def make_finished(owner: Any, **settings: Any) -> Generation:
    """A generation made through the real services and renderer, tiny and quick."""
    fields = {
        "prompt": "a paper boat on a pond",
        "resolution": "480p",
        "seconds": 1,
        "aspect_ratio": "1:1",
        "seed": 3,
    }
    fields.update(settings)
    return run_inline(services.generation_create(owner=owner, spec=GenerationSpec(**fields)))
