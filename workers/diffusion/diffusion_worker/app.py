"""The Celery app of the GPU worker, configured from the environment.

Run: ``celery -A diffusion_worker.app worker -Q gpu --pool=solo --concurrency=1``.
``CELERY_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``) and ``CELERY_RESULT_BACKEND``
(default: the broker URL) must match the Studio's; the cancel flags and the worker
announcement live in the same Redis unless ``STUDIO_DIFFUSION_REDIS_URL`` says otherwise.
"""

from __future__ import annotations

import os

from celery import Celery

from diffusion_worker import QUEUE, TASK_NAME

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL", "").strip() or DEFAULT_BROKER


def result_backend_url() -> str:
    return os.environ.get("CELERY_RESULT_BACKEND", "").strip() or broker_url()


app = Celery("studio_diffusion", broker=broker_url(), backend=result_backend_url())
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_track_started=True,
    task_default_queue=QUEUE,
    task_routes={TASK_NAME: {"queue": QUEUE}},
    # One job per GPU: no prefetching, and no forked children that would break CUDA.
    worker_prefetch_multiplier=1,
    worker_concurrency=1,
    worker_pool="solo",
    broker_connection_retry_on_startup=True,
    result_expires=int(os.environ.get("STUDIO_DIFFUSION_RESULT_EXPIRES", str(7 * 24 * 3600))),
)

# Registers the task and the worker_ready / worker_shutdown handlers.
from diffusion_worker import announce, tasks  # noqa: E402, F401
