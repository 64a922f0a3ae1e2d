"""The pipeline's tasks, by name, and the one helper that sends a generation's next step.

Tasks are sent through ``core.dispatch`` (by name, on commit); nothing here imports a tasks
module. A step runs on the generation's queue (``priority`` or ``standard``); finishing runs
on ``media``.
"""

from __future__ import annotations

from core.dispatch import enqueue
from generations.models import Generation
from generations.states import State

SUBMIT_TASK = "generations.tasks.submit_generation"
POLL_TASK = "generations.tasks.poll_generation"
DOWNLOAD_TASK = "generations.tasks.download_generation"
FINISH_TASK = "delivery.tasks.finish_generation"

# The task that moves a generation on from each state it can wait in.
STEP_TASKS: dict[str, str] = {
    State.QUEUED: SUBMIT_TASK,
    State.SUBMITTING: SUBMIT_TASK,
    State.RUNNING: POLL_TASK,
    State.DOWNLOADING: DOWNLOAD_TASK,
    State.FINISHING: FINISH_TASK,
}


def step_enqueue(task_name: str, generation: Generation, countdown: float = 0.0) -> None:
    """Send a pipeline task for this generation once the current transaction commits."""
    queue = "media" if task_name == FINISH_TASK else generation.queue
    enqueue(task_name, str(generation.pk), queue=queue, countdown=countdown)
