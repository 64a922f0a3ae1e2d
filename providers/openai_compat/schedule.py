"""When to look at a running job on an OpenAI-compatible server next.

The look is timed to the job's expected finish: from the progress the server reports (a job
at 40 % after 20 s should be done at 50 s), or, while it reports none, from the durations of
this endpoint's past jobs (kept in the cache, newest last). The last look lands just after the
expected finish, so a finished video is picked up within about a second without a look every
second. A job past every estimate, or one with nothing to go on, is looked at about every
fifth of its age. The server's ``openai-poll-after-ms`` / ``Retry-After`` is never undercut
(the caller takes the larger), and with webhooks polling is only the slow safety net.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache

# With nothing better to go on, the next look comes after this fraction of the job's age.
AGE_FRACTION = 0.2
# The look meant to find the job done comes this long after its expected finish.
FINISH_MARGIN_SECONDS = 0.3
# Past durations kept per endpoint.
HISTORY_SIZE = 20


def _history_key(slug: str) -> str:
    return f"studio:openai-durations:{slug}"


def durations(slug: str) -> list[float]:
    """Seconds from create to completed of this endpoint's latest jobs, oldest first."""
    found = cache.get(_history_key(slug))
    return [float(d) for d in found] if isinstance(found, list) else []


def remember_duration(slug: str, seconds: float) -> None:
    """Add one finished job's duration to the endpoint's history (last write wins: two
    workers finishing at once may drop one figure, which costs nothing but a sample)."""
    if seconds <= 0:
        return
    history = [*durations(slug), seconds][-HISTORY_SIZE:]
    cache.set(_history_key(slug), history, None)


def expected_duration(age: float, progress: int, history: Sequence[float]) -> float | None:
    """The job's expected length from create to completed, or None with nothing to go on."""
    if 0 < progress < 100 and age > 0:
        return age * 100 / progress
    if history:
        return statistics.median(history)
    return None


def next_look(*, age: float, progress: int, history: Sequence[float], webhooks: bool) -> float:
    """Seconds until the next look at a job ``age`` seconds old, ``progress`` % done."""
    low, high = settings.STUDIO_POLL_MIN_SECONDS, settings.STUDIO_POLL_MAX_SECONDS
    if webhooks:
        return high  # the server's webhook says when; this is the net for one that is lost
    expected = expected_duration(age, progress, history)
    if expected is None or expected <= age:
        wait = age * AGE_FRACTION
    else:
        wait = expected - age + FINISH_MARGIN_SECONDS
    return min(high, max(low, wait))
