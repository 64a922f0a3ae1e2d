"""A worker process's word that it is stopping, for long tasks that can stop early.

The Celery worker (studio.celery) sets it in each pool process on a warm shutdown (SIGTERM
or the first Ctrl-C). A task that can be redone from the start (the offline render) looks
at it between steps and raises WorkerStopping, after giving back whatever it holds; the
worker then puts the task's message back on its queue instead of waiting for it. Short
tasks never look and run to their end as before. Set from a signal handler: a plain flag,
no lock."""

from __future__ import annotations

_stopping = False


class WorkerStopping(BaseException):
    """This worker is stopping: the task gives back what it holds and is requeued.

    A BaseException, like SystemExit, so that no ``except Exception`` on the way turns a
    shutdown into a failed job."""


def request_stop(*_: object) -> None:
    """Say that this process is stopping (usable as a signal handler)."""
    global _stopping
    _stopping = True


def stopping() -> bool:
    return _stopping


def check() -> None:
    """Raise WorkerStopping if this process has been told to stop."""
    if _stopping:
        raise WorkerStopping("the worker is stopping")
