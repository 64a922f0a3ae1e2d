"""Logs: one JSON object per line in production (LOG_FORMAT=json), readable text for
``./dev run`` (plain); every line written while a job's task runs carries its generation,
user and provider job ids, and every line of a web request its user id."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponseBase

JOB_FIELDS = ("generation_id", "user_id", "provider_job_id", "video_id", "task")
_context: ContextVar[dict[str, str]] = ContextVar("studio_log_context", default={})  # noqa: B039
# Attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Add these ids to every log line written inside the block (empty values are left out)."""
    token = _context.set({**_context.get(), **{k: str(v) for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**ids: object) -> object:
    """Add ids until ``unbind(token)`` (for code that cannot hold a with-block open, such as a
    pair of Celery signals)."""
    return _context.set({**_context.get(), **{k: str(v) for k, v in ids.items() if v}})


def unbind(token: object) -> None:
    _context.reset(token)  # type: ignore[arg-type]


class ContextFilter(logging.Filter):
    """Copies the current ids onto each record (a record's own `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                body[name] = value
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


class PlainFormatter(logging.Formatter):
    """``time level logger: message [generation=... user=...]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(
            f"{name.removesuffix('_id')}={getattr(record, name)}"
            for name in JOB_FIELDS
            if getattr(record, name, None)
        )
        return f"{line} [{ids}]" if ids else line


def logging_config(*, fmt: str, level: str) -> dict[str, Any]:
    """The LOGGING setting for ``fmt`` json or plain."""
    formatter = "studio.logs.JsonFormatter" if fmt == "json" else "studio.logs.PlainFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "studio.logs.ContextFilter"}},
        "formatters": {"studio": {"()": formatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "studio",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }


class RequestContextMiddleware:
    """Puts the signed-in user's id on every line logged while a request is handled."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        with log_context(user_id=user_id):
            return self.get_response(request)


def task_ids(task_name: str, args: tuple[Any, ...]) -> dict[str, object]:
    """The ids a job's task is about, read from its first argument (one small query)."""
    from generations.models import Generation, Video  # the apps are ready when tasks run

    short = task_name.rsplit(".", 1)[-1]
    if not args:
        return {"task": short}
    first = str(args[0])
    row: tuple[Any, ...] | None = None
    try:
        if short == "make_delivery":
            row = (
                Video.objects.filter(pk=first)
                .values_list("generation_id", "owner_id", "generation__provider_job_id")
                .first()
            )
            ids: dict[str, object] = {"video_id": first}
        elif short == "render_offline_job":
            row = (
                Generation.objects.filter(provider="offline", provider_job_id=first)
                .values_list("pk", "owner_id", "provider_job_id")
                .first()
            )
            ids = {"provider_job_id": first}
        else:
            row = (
                Generation.objects.filter(pk=first)
                .values_list("pk", "owner_id", "provider_job_id")
                .first()
            )
            ids = {"generation_id": first}
    except Exception:  # a bad id is the task's problem to report, not the log's
        return {"task": short}
    if row is not None:
        ids.update(generation_id=row[0], user_id=row[1], provider_job_id=row[2])
    return {"task": short, **ids}
