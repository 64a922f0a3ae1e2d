"""Counters and histograms every Studio process adds to (web and workers, on any machine),
kept in Redis when the broker is Redis, else in this process only; /metrics reads them.

Recording never fails a job: a metrics store that is down costs a log line, nothing more."""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Seconds: from a fast poll to a long local render.
DURATION_BUCKETS: tuple[float, ...] = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)
_PREFIX = "studio:metrics:"
_TIMEOUT_SECONDS = 0.5

_local: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
_local_lock = threading.Lock()
_client: redis.Redis | None = None
_client_url = ""


def count(name: str, amount: float = 1, **labels: str) -> None:
    """Add ``amount`` to the counter ``name`` with these labels."""
    _add(name, {_field(labels): amount})


def observe(
    name: str, seconds: float, buckets: Iterable[float] = DURATION_BUCKETS, **labels: str
) -> None:
    """Record one duration in the histogram ``name`` (cumulative buckets, sum, count)."""
    increments = {_field(labels, le=str(le)): 1.0 for le in buckets if seconds <= le}
    increments[_field(labels, le="+Inf")] = 1.0
    increments[_field(labels, le="sum")] = seconds
    _add(name, increments)


def read(name: str) -> list[tuple[dict[str, str], float]]:
    """Every series of ``name``: its labels (with ``le`` for histogram fields) and value."""
    client = _redis()
    if client is not None:
        try:
            stored: Mapping[bytes, bytes] = client.hgetall(_PREFIX + name)  # type: ignore[assignment]
        except redis.RedisError:
            logger.warning("metrics: could not read %s", name, exc_info=True)
            return []
        items = [(key.decode(), float(value)) for key, value in stored.items()]
    else:
        with _local_lock:
            items = list(_local[name].items())
    return [(json.loads(key), value) for key, value in items]


def _field(labels: Mapping[str, str], **extra: str) -> str:
    return json.dumps({**{k: str(v) for k, v in labels.items()}, **extra}, sort_keys=True)


def _add(name: str, increments: Mapping[str, float]) -> None:
    client = _redis()
    if client is None:
        with _local_lock:
            for key, amount in increments.items():
                _local[name][key] += amount
        return
    try:
        pipe = client.pipeline(transaction=False)
        for key, amount in increments.items():
            pipe.hincrbyfloat(_PREFIX + name, key, amount)
        pipe.execute()
    except redis.RedisError:
        logger.warning("metrics: could not record %s", name, exc_info=True)


def _redis() -> redis.Redis | None:
    global _client, _client_url
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    if _client is None or url != _client_url:
        _client = redis.Redis.from_url(
            url, socket_connect_timeout=_TIMEOUT_SECONDS, socket_timeout=_TIMEOUT_SECONDS
        )
        _client_url = url
    return _client
