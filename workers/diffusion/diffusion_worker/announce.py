"""The worker tells Studio it exists: a JSON key in Redis, refreshed by a background thread.

Key ``studio:diffusion:workers:<hostname>`` holds ``{"hostname", "queue", "task_name",
"presets": [capabilities + "available"], "device", "busy", "started_at", "updated_at",
"pid"}`` with a TTL (``STUDIO_DIFFUSION_ANNOUNCE_TTL``, default 60 s), rewritten every
``STUDIO_DIFFUSION_ANNOUNCE_INTERVAL`` seconds (default 20) and at once when the worker
turns busy or idle. Started on Celery's worker_ready, deleted on worker_shutdown; a worker
that dies without shutting down drops out when the TTL runs out.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import threading
from typing import Any

import redis
from celery.signals import worker_ready, worker_shutdown
from redis.exceptions import RedisError

from diffusion_worker import QUEUE, TASK_NAME, worker_key
from diffusion_worker.presets import PRESETS, capabilities, get_preset

log = logging.getLogger(__name__)

_busy = threading.Event()
_announcer: Announcer | None = None


@functools.cache
def redis_client() -> redis.Redis:
    """The Redis that holds cancel flags and announcements (the broker's, by default)."""
    url = (
        os.environ.get("STUDIO_DIFFUSION_REDIS_URL", "").strip()
        or os.environ.get("CELERY_BROKER_URL", "").strip()
        or "redis://127.0.0.1:6379/0"
    )
    return redis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30
    )


def set_busy(busy: bool) -> None:
    """Record whether a job is running, and refresh the announcement now."""
    if busy:
        _busy.set()
    else:
        _busy.clear()
    if _announcer is not None:
        _announcer.poke()


class Announcer(threading.Thread):
    """Keeps this worker's key alive until stopped."""

    def __init__(self, hostname: str, interval: float, ttl: int) -> None:
        super().__init__(name="studio-diffusion-announce", daemon=True)
        self.hostname = hostname
        self.key = worker_key(hostname)
        self.interval = interval
        self.ttl = ttl
        self.started_at = _now()
        self.device = "unknown"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def payload(self) -> dict[str, Any]:
        from diffusion_worker.runtime import model_available

        presets = []
        for cap in capabilities():
            presets.append({**cap, "available": model_available(PRESETS[cap["id"]])})
        return {
            "hostname": self.hostname,
            "queue": QUEUE,
            "task_name": TASK_NAME,
            "presets": presets,
            "device": self.device,
            "busy": _busy.is_set(),
            "started_at": self.started_at,
            "updated_at": _now(),
            "pid": os.getpid(),
        }

    def publish(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            try:
                redis_client().set(self.key, json.dumps(self.payload()), ex=self.ttl)
            except RedisError as exc:
                log.warning("cannot announce worker %s: %s", self.hostname, exc)

    def poke(self) -> None:
        self._wake.set()

    def run(self) -> None:
        from diffusion_worker.runtime import pick_device

        try:
            self.device = pick_device()
        except Exception as exc:  # an announcement without a device beats none at all
            log.warning("cannot detect device: %s", exc)
        self.publish()
        _preload()
        while not self._stopping.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            self.publish()

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            self._wake.set()
            try:
                redis_client().delete(self.key)
            except RedisError as exc:
                log.warning("cannot withdraw worker %s: %s", self.hostname, exc)


def _preload() -> None:
    preset_id = os.environ.get("STUDIO_DIFFUSION_PRELOAD", "").strip()
    if not preset_id:
        return
    from diffusion_worker.runtime import get_pipeline

    try:
        get_pipeline(get_preset(preset_id), "t2v")
    except Exception as exc:  # the first job reports the same error to its caller
        log.error("preloading %s failed: %s", preset_id, exc)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@worker_ready.connect
def _on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    global _announcer
    hostname = getattr(sender, "hostname", None) or os.uname().nodename
    _announcer = Announcer(
        hostname,
        interval=float(os.environ.get("STUDIO_DIFFUSION_ANNOUNCE_INTERVAL", "20")),
        ttl=int(os.environ.get("STUDIO_DIFFUSION_ANNOUNCE_TTL", "60")),
    )
    _announcer.start()


@worker_shutdown.connect
def _on_worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    if _announcer is not None:
        _announcer.stop()
