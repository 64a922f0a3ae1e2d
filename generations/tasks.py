"""Celery tasks of the pipeline: thin wrappers that take ids and call services.

All are ``acks_late`` and safe to run twice; the services send them by name, on commit
(``generations.services.steps``). Finishing is ``delivery.tasks``'; the offline renderer's
work is ``providers.offline.tasks``'.
"""

from __future__ import annotations

from celery import shared_task

from core.dispatch import tolerate_deleted
from generations import services


@shared_task(acks_late=True, ignore_result=True)
@tolerate_deleted
def submit_generation(generation_id: str) -> None:
    """Send a queued generation to its provider (exactly once, see the service)."""
    services.generation_submit(generation_id)


@shared_task(acks_late=True, ignore_result=True)
@tolerate_deleted
def poll_generation(generation_id: str) -> None:
    """One look at a running job; re-enqueues itself with a countdown while it runs."""
    services.generation_poll(generation_id)


@shared_task(acks_late=True, ignore_result=True)
@tolerate_deleted
def download_generation(generation_id: str) -> None:
    """Copy a finished job's files into storage."""
    services.generation_download(generation_id)


@shared_task(acks_late=True, ignore_result=True)
def reap_generations() -> dict[str, int]:
    """Beat: time out jobs past their deadline, resume stalled ones."""
    return services.generation_reap()


@shared_task(acks_late=True, ignore_result=True)
def sweep_orphans() -> dict[str, int]:
    """Beat: delete stored files and offline job folders that nothing names any more."""
    return services.orphans_sweep()
