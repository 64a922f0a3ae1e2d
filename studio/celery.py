"""The Celery application: configured from Django settings (CELERY_*), tasks found in apps;
every log line a task writes carries the ids of the job it is about (studio/logs.py)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

from studio import logs

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
