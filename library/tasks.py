"""Celery tasks of the library: thin wrappers that take ids and call services (sent by name
through ``core.dispatch.enqueue``)."""

from __future__ import annotations

from celery import shared_task

from core.dispatch import tolerate_deleted
from library import importing


@shared_task(acks_late=True, ignore_result=True)
@tolerate_deleted
def import_archive(import_id: str) -> None:
    """Import an uploaded zip (``library.importing.archive_import_run``); safe to run twice."""
    importing.archive_import_run(import_id)
