"""HTTP failures sorted into transient and permanent errors, the poll schedule, and
streaming an output URL to disk, for every hosted backend."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
from django.conf import settings

from providers.base import PermanentError, ProviderError, TransientError
from providers.hosted.config import timeout_seconds

# A job is polled about every POLL_AGE_FRACTION of its age: short gaps while a job is young,
# longer ones for a long job.
POLL_AGE_FRACTION = 0.2
TRANSIENT_STATUSES = frozenset({408, 409, 429})
# Answers to a create that prove the server did not make a job.
REFUSED_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 429})


def unknown_outcome(provider_name: str) -> PermanentError:
    """The error for a create whose outcome is unknown at a provider that offers no way to
    look a job up: sending it again could make a second, billed job."""
    return PermanentError(
        f"Studio lost the answer to this job's request to {provider_name} (a timeout, a "
        f"server error or a restart), and {provider_name} offers no way to look the job up. "
        "To be sure you are not billed twice it was not sent again: check your "
        f"{provider_name} dashboard, then generate it again if no video is there.",
        code="unknown_outcome",
    )


def never_sent(exc: BaseException) -> bool:
    """Whether an HTTP failure certainly happened before the request reached the server
    (no connection was made), so the server cannot have acted on it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (httpx.ConnectError, httpx.ConnectTimeout)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def header_seconds(headers: Mapping[str, str], *names: str) -> float | None:
    """The first of the named headers as seconds: ``*-ms`` in milliseconds, ``retry-after``
    in seconds or as an HTTP date; a value that is neither is skipped."""
    for name in names:
        value = headers.get(name)
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            if name != "retry-after":
                continue
            try:
                number = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):  # neither a number nor a date
                continue
        else:
            if name.endswith("-ms"):
                number /= 1000
        return max(0.0, number)
    return None


def status_error(
    provider_name: str, status: int, message: str, headers: Mapping[str, str], *, code: str = ""
) -> ProviderError:
    """Sort an HTTP error answer: transient for 408/409/429/5xx (with the server's
    Retry-After), permanent with the server's message otherwise."""
    if status in TRANSIENT_STATUSES or status >= 500:
        return TransientError(
            f"{provider_name} is busy (HTTP {status})" + (f": {message}" if message else "."),
            code=code or f"http_{status}",
            retry_after=header_seconds(headers, "retry-after-ms", "retry-after"),
        )
    return PermanentError(
        message or f"{provider_name} refused the request (HTTP {status}).",
        code=code or f"http_{status}",
    )


def poll_interval(age_seconds: float, *, webhooks: bool = False) -> float:
    """Seconds until the next look at a running job: a fifth of its age, within the poll
    bounds; the ceiling when a webhook will say when to look."""
    if webhooks:
        return float(settings.STUDIO_POLL_MAX_SECONDS)
    return float(
        min(
            settings.STUDIO_POLL_MAX_SECONDS,
            max(settings.STUDIO_POLL_MIN_SECONDS, age_seconds * POLL_AGE_FRACTION),
        )
    )


class OutputGone(Exception):
    """An output URL answered 403/404/410: expired or not yet readable."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def stream_url(
    url: str, target: Path, *, provider_name: str, headers: Mapping[str, str] | None = None
) -> None:
    """Stream one output URL to ``target`` (never whole in memory). Raises OutputGone for
    403/404/410 and ProviderError for other failures."""
    try:
        with httpx.stream(
            "GET", url, headers=headers, timeout=timeout_seconds(), follow_redirects=True
        ) as response:
            if response.status_code in (403, 404, 410):
                raise OutputGone(response.status_code)
            if response.status_code >= 400:
                raise status_error(
                    provider_name, response.status_code, "", response.headers, code="download"
                )
            with target.open("wb") as f:
                for chunk in response.iter_bytes(chunk_size=1 << 20):
                    f.write(chunk)
    except httpx.HTTPError as exc:
        raise TransientError(
            f"{provider_name}'s video could not be fetched ({type(exc).__name__}).",
            code="download",
        ) from exc
