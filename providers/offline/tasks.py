"""The offline renderer's Celery task (queue ``media``)."""

from __future__ import annotations

from celery import shared_task

from providers.offline.provider import OfflineProvider

RENDER_TASK = "providers.offline.tasks.render_offline_job"


@shared_task(name=RENDER_TASK, acks_late=True, ignore_result=True)
def render_offline_job(job_id: str) -> None:
    """Render one job folder (idempotent: a finished job is left alone)."""
    OfflineProvider().run(job_id)
