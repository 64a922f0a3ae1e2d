"""Celery tasks: thin wrappers that take ids and call services.

All are ``acks_late`` and safe to run twice; they are sent on commit by the services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from celery import shared_task

from generations import services
from generations.models import Generation
from generations.providers.registry import get_provider

log = logging.getLogger(__name__)


def _tolerate_deleted(func: Callable[[str], Any]) -> Callable[[str], Any]:
    """A message for a generation deleted since it was sent is dropped, not an error."""

    @wraps(func)
    def wrapper(generation_id: str) -> Any:
        try:
            return func(generation_id)
        except Generation.DoesNotExist:
            log.info("%s: generation %s no longer exists", func.__name__, generation_id)
            return None

    return wrapper


@shared_task(acks_late=True, ignore_result=True)
@_tolerate_deleted
def submit_generation(generation_id: str) -> None:
    """Send a queued generation to its provider (exactly once, see the service)."""
    services.generation_submit(generation_id)


@shared_task(acks_late=True, ignore_result=True)
@_tolerate_deleted
def poll_generation(generation_id: str) -> None:
    """One look at a running job; re-enqueues itself with a countdown while it runs."""
    services.generation_poll(generation_id)


@shared_task(acks_late=True, ignore_result=True)
@_tolerate_deleted
def download_generation(generation_id: str) -> None:
    """Copy a finished job's files into storage."""
    services.generation_download(generation_id)


@shared_task(acks_late=True, ignore_result=True)
@_tolerate_deleted
def finish_generation(generation_id: str) -> None:
    """Probe, poster, and the final state."""
    services.generation_finish(generation_id)


@shared_task(acks_late=True, ignore_result=True)
def render_offline_job(job_id: str) -> None:
    """The offline renderer's own work: render one job folder (idempotent)."""
    get_provider("offline").run(job_id)  # type: ignore[attr-defined]


@shared_task(acks_late=True, ignore_result=True)
def make_delivery(video_id: str) -> None:
    """Make the watermarked copy of a video whose owner's plan now needs one."""
    from generations import finishing
    from generations.models import Video

    video = Video.objects.select_related("generation", "owner").filter(pk=video_id).first()
    if video is not None:
        finishing.video_prepare(video)


@shared_task(acks_late=True, ignore_result=True)
def reap_generations() -> dict[str, int]:
    """Beat: time out jobs past their deadline, resume stalled ones."""
    return services.generations_reap()
