"""The one seam to Celery: every task is sent by name, once the current transaction commits.

Nothing imports a ``tasks`` module except Celery's autodiscovery, so services stay free of
Celery's import graph and a task never runs against a row that was rolled back. Routing
(``CELERY_TASK_ROUTES``) applies unless the caller names a queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from celery import current_app
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction

log = logging.getLogger(__name__)


def enqueue(task_name: str, *args: str, queue: str | None = None, countdown: float = 0.0) -> None:
    """Send ``task_name`` with ``args`` after the current transaction commits (at once when
    there is none). ``queue`` overrides the route; ``countdown`` is in seconds."""

    def send() -> None:
        current_app.send_task(task_name, args=args, queue=queue, countdown=max(0.0, countdown))

    transaction.on_commit(send)


def tolerate_deleted(func: Callable[[str], None]) -> Callable[[str], None]:
    """For a task that takes a row's id: a message for a row deleted since it was sent is
    dropped (and logged), not an error."""

    @wraps(func)
    def wrapper(object_id: str) -> None:
        try:
            func(object_id)
        except ObjectDoesNotExist:
            log.info("%s: %s no longer exists", func.__name__, object_id)

    return wrapper
