"""The Celery application: configured from Django settings (CELERY_*), tasks found in apps;
every log line a task writes carries the ids of the job it is about (studio/logs.py).

Stopping (SIGTERM, or the first Ctrl-C: Celery's warm shutdown) is quick and loses nothing:

- the embedded broker stops polling at once (studio.broker);
- each pool process is told (STOP_SIGNAL, core.shutdown): a task that can be redone from the
  start (the offline render) gives back its lease and raises WorkerStopping, which puts its
  message back on the queue (``Reject(requeue=True)``); short tasks run to their end;
- messages the worker holds but has not started (a poll's countdown) go back to the broker
  as the consumer closes, as always;
- once the worker has shut down, the process ends without the interpreter's teardown,
  which frees a large heap object by object (one to several seconds on a busy machine)
  and has nothing left to do.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from celery import Celery, Task
from celery.exceptions import Reject
from celery.signals import (
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_ready,
    worker_shutdown,
    worker_shutting_down,
)
from kombu.transport import TRANSPORT_ALIASES

from core import shutdown
from studio import logs

# The embedded broker (an empty CELERY_BROKER_URL) is kombu's filesystem transport with
# atomic writes and exclusive claims: see studio.broker.
TRANSPORT_ALIASES["filesystem"] = "studio.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

# The signal a warm shutdown sends each pool process: a real-time one, since billiard
# makes the usual ones (SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, ...) end a pool process once
# its initializer has run, and SIGINT is ignored there.
STOP_SIGNAL = signal.SIGRTMIN + 1


class StudioTask(Task):  # type: ignore[type-arg]
    """Every Studio task: one that stops because its worker is stopping is requeued."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except shutdown.WorkerStopping as exc:
            raise Reject(str(exc), requeue=True) from None


app = Celery("studio", task_cls=StudioTask)
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


@worker_process_init.connect
def _listen_for_stop(**kwargs: Any) -> None:
    signal.signal(STOP_SIGNAL, shutdown.request_stop)


_worker: Any = None


@worker_ready.connect
def _remember_worker(sender: Any = None, **kwargs: Any) -> None:
    global _worker
    _worker = getattr(sender, "controller", None)


@worker_shutting_down.connect
def _tell_pool_processes(**kwargs: Any) -> None:
    """Warm shutdown (runs in the signal handler): every pool process learns of it."""
    pool = getattr(getattr(getattr(_worker, "pool", None), "_pool", None), "_pool", None)
    for process in list(pool or ()):
        try:
            if process.pid:
                os.kill(process.pid, STOP_SIGNAL)
        except (OSError, AttributeError):
            pass


@worker_shutdown.connect
def _end_without_teardown(sender: Any = None, **kwargs: Any) -> None:
    """The ``celery worker`` command, once its worker has shut down, ends at exit without
    the interpreter's teardown (the last of the atexit hooks to be registered runs first)."""
    from celery.apps.worker import Worker

    if not isinstance(sender, Worker):
        return  # a worker embedded in another program leaves its process alone
    beat = getattr(sender, "beat", None)

    def end() -> None:
        if beat is not None and hasattr(beat, "join"):
            beat.join(2)  # told to stop with the worker; its schedule file is written
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(sender.exitcode or 0)

    atexit.register(end)
