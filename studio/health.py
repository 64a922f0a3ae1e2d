"""/healthz (the process answers), /readyz (database, broker, storage reachable and
migrations applied) and /metrics (Prometheus, behind a token), answered before any other
middleware: no login, no host check, no HTTPS redirect, so that compose, load balancers and
Prometheus can ask over plain loopback."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from core.objectstore import StudioS3Storage

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
# Each check must answer quickly: a dependency that hangs counts as down.
CHECK_TIMEOUT_SECONDS = 1.0

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()
_migrated = False


class HealthMiddleware:
    """Answers the two probe paths; everything else goes on down the stack."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path == HEALTH_PATH:
            return _answer({"status": "ok"}, 200)
        if request.path == METRICS_PATH:
            from studio.metrics import metrics_response  # needs the apps: imported late

            return metrics_response(request)
        if request.path == READY_PATH:
            checks = readiness()
            ready = all(state == "ok" for state in checks.values())
            return _answer(
                {"status": "ready" if ready else "unavailable", "checks": checks},
                200 if ready else 503,
            )
        return self.get_response(request)


def readiness() -> dict[str, str]:
    """Each dependency's state, "ok" or "failing" (the reason goes to the log only: the
    answer is public)."""
    checks: dict[str, Callable[[], None]] = {
        "database": _database,
        "migrations": _migrations,
        "broker": _broker,
        "storage": _storage,
    }
    states: dict[str, str] = {}
    for name, check in checks.items():
        if name == "migrations" and states.get("database") != "ok":
            states[name] = "unknown"
            continue
        try:
            check()
        except Exception:
            logger.warning("readiness check %s failed", name, exc_info=True)
            states[name] = "failing"
        else:
            states[name] = "ok"
    return states


def _answer(body: dict[str, object], status: int) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        connection.close()  # the next probe reconnects instead of reusing a dead socket
        raise


def _migrations() -> None:
    """No unapplied migration. Once true it stays true for this code, so it is asked only
    until it first holds (the migration graph costs tens of milliseconds to load)."""
    global _migrated
    if _migrated:
        return
    executor = MigrationExecutor(connections["default"])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migrations not applied")
    _migrated = True


def _broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        _redis(url).ping()
        return
    if url.startswith("filesystem"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "")
        if not (folder and os.access(str(folder), os.W_OK)):
            raise RuntimeError("the embedded broker's folder is not writable")


def _storage() -> None:
    if isinstance(default_storage, StudioS3Storage):  # the lazy proxy answers for its object
        default_storage.ping()
        return
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    if not os.access(root, os.W_OK):
        raise RuntimeError("the media folder is not writable")


def _redis(url: str) -> redis.Redis:
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
                socket_timeout=CHECK_TIMEOUT_SECONDS,
            )
            _clients[url] = client
        return client
