"""Per-key rate limits from the owner's plan: requests per minute and creates per minute,
counted in fixed one-minute windows in the cache (Redis in production, so every web
process shares the count). Over the limit is a 429 with ``Retry-After``; every answer
carries ``x-ratelimit-*`` headers for the requests window."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from api.errors import ApiError

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Window:
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self, kind: str) -> dict[str, str]:
        return {
            f"x-ratelimit-limit-{kind}": str(self.limit),
            f"x-ratelimit-remaining-{kind}": str(self.remaining),
            f"x-ratelimit-reset-{kind}": f"{self.reset_seconds}s",
        }


def _count(name: str, timeout: int) -> int:
    """Add one to the counter ``name`` (made with ``timeout`` when new); its new value. On
    Redis, one round trip (SET NX EX and INCR, pipelined) instead of the three that
    Django's add and incr take."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        key = backend.make_and_validate_key(name)
        pipe = backend._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.set(key, 0, ex=timeout, nx=True)
        pipe.incr(key)
        return int(pipe.execute()[1])
    backend.add(name, 0, timeout=timeout)
    try:
        return int(backend.incr(name))
    except ValueError:  # expired between add and incr
        backend.set(name, 1, timeout=timeout)
        return 1


def rate_take(key_id: int, kind: str, limit: int) -> Window:
    """Count one ``kind`` ("requests" or "creates") for the key in this minute's window.
    Raises ApiError(429) when the window is full."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    reset = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
    used = _count(f"api:rate:{key_id}:{kind}:{window}", WINDOW_SECONDS + 5)
    state = Window(limit=limit, remaining=max(0, limit - used), reset_seconds=reset)
    if used > limit:
        raise ApiError(
            429,
            f"Rate limit reached: {limit} {kind} per minute for this key. Try again in {reset} s.",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(reset), **state.headers(kind)},
        )
    return state
