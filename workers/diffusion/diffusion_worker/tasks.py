"""The Celery task: a thin shell that wires progress and cancellation around ``generate``.

Task ``studio.diffusion.generate`` on queue ``gpu`` takes one argument, the job spec dict.
States: PENDING -> STARTED -> PROGRESS (meta ``{"stage", "progress", "step", "steps"}``,
repeated) -> SUCCESS (the result dict of ``generate``), or FAILURE (InvalidJobSpec,
ModelNotAvailable, or an error from the pipeline), or REVOKED carrying JobCancelled when
the job's cancel flag stopped it. The torch stack is imported on the first job only.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import Task, states
from celery.exceptions import Ignore
from redis.exceptions import RedisError

from diffusion_worker import TASK_NAME, announce, cancel_key
from diffusion_worker.app import app
from diffusion_worker.errors import InvalidJobSpec, JobCancelled, ModelNotAvailable

log = logging.getLogger(__name__)


class ThrottledProgress:
    """Sends PROGRESS states at most once per interval; never drops a stage change or last step."""

    def __init__(self, task: Task, min_interval: float) -> None:
        self.task = task
        self.min_interval = min_interval
        self.last_sent = 0.0
        self.last_stage = ""

    def __call__(self, meta: dict[str, Any]) -> None:
        now = time.monotonic()
        stage_changed = meta["stage"] != self.last_stage
        last_step = meta["steps"] > 0 and meta["step"] >= meta["steps"]
        if stage_changed or last_step or now - self.last_sent >= self.min_interval:
            self.task.update_state(state="PROGRESS", meta=meta)
            self.last_sent, self.last_stage = now, meta["stage"]


class CancelFlag:
    """Asks Redis whether the job's cancel key exists: one EXISTS per call."""

    def __init__(self, task_id: str) -> None:
        self.key = cancel_key(task_id)

    def __call__(self) -> bool:
        try:
            return bool(announce.redis_client().exists(self.key))
        except RedisError as exc:
            # A Redis hiccup must not kill a long render; the next step asks again.
            log.warning("cannot read cancel flag %s: %s", self.key, exc)
            return False

    def clear(self) -> None:
        try:
            announce.redis_client().delete(self.key)
        except RedisError as exc:
            log.warning("cannot clear cancel flag %s: %s", self.key, exc)


@app.task(
    name=TASK_NAME,
    bind=True,
    acks_late=True,
    track_started=True,
    throws=(InvalidJobSpec, ModelNotAvailable),
)
def generate_video(self: Task, spec: dict[str, Any]) -> dict[str, Any]:
    """Render the job ``spec`` (see README.md) and return the result dict.

    Idempotent per output path: a redelivered job renders again and replaces the file
    atomically. Cancelled jobs end REVOKED with a JobCancelled result and leave no file.
    """
    from diffusion_worker.generate import generate

    task_id = self.request.id or ""
    flag = CancelFlag(task_id)
    progress = ThrottledProgress(
        self, float(os.environ.get("STUDIO_DIFFUSION_PROGRESS_INTERVAL", "0.5"))
    )
    announce.set_busy(True)
    try:
        return generate(spec, on_progress=progress, is_cancelled=flag)
    except JobCancelled as exc:
        log.info("job %s cancelled", task_id)
        self.backend.store_result(task_id, exc, states.REVOKED, request=self.request)
        raise Ignore() from exc
    finally:
        flag.clear()
        announce.set_busy(False)
