"""Delivery's Celery tasks (queue ``media``): the pipeline's finishing step, and a late
watermarked copy for a creator whose plan changed."""

from __future__ import annotations

from celery import shared_task

from core.dispatch import tolerate_deleted
from delivery import finishing, services
from generations.models import Video


@shared_task(acks_late=True, ignore_result=True)
@tolerate_deleted
def finish_generation(generation_id: str) -> None:
    """Watermarks, credentials, poster and probe for every video, then the final state."""
    services.generation_finish(generation_id)


@shared_task(acks_late=True, ignore_result=True)
@tolerate_deleted
def make_delivery(video_id: str) -> None:
    """Make the watermarked copy of a video whose owner's plan now needs one."""
    video = Video.objects.select_related("generation", "owner").get(pk=video_id)
    finishing.video_prepare(video)
