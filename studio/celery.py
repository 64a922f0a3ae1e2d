"""The Celery application: configured from Django settings (CELERY_*), tasks found in apps;
every log line a task writes carries the ids of the job it is about (studio/logs.py)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun, worker_ready, worker_shutdown
from kombu.transport import TRANSPORT_ALIASES

from studio import logs

# The embedded broker (an empty CELERY_BROKER_URL) is kombu's filesystem transport with
# atomic writes and exclusive claims: see studio.broker.
TRANSPORT_ALIASES["filesystem"] = "studio.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_bound: dict[str, object] = {}


@task_prerun.connect
def _bind_job_ids(task_id: str, task: Task[Any, Any], args: tuple[Any, ...], **_: Any) -> None:
    _bound[task_id] = logs.bind(**logs.task_ids(task.name, tuple(args or ())))


@task_postrun.connect
def _unbind_job_ids(task_id: str, **_: Any) -> None:
    token = _bound.pop(task_id, None)
    if token is not None:
        logs.unbind(token)


if TYPE_CHECKING:
    from generations.reaper import ReaperThread

_reaper: ReaperThread | None = None


@worker_ready.connect
def _start_reaper(sender: Any = None, **kwargs: Any) -> None:
    """A worker without a beat it can count on reaps too (STUDIO_WORKER_REAPER)."""
    from django.conf import settings

    from generations.reaper import ReaperThread

    global _reaper
    if settings.STUDIO_WORKER_REAPER and _reaper is None:
        _reaper = ReaperThread(settings.STUDIO_REAPER_INTERVAL)
        _reaper.start()


@worker_shutdown.connect
def _stop_reaper(sender: Any = None, **kwargs: Any) -> None:
    global _reaper
    if _reaper is not None:
        _reaper.stopped.set()
        _reaper = None
