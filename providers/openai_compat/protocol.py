"""What the protocol's answers mean: a server size as Studio's frame, the status words of
the servers' dialects, the retry hints in response headers, and SDK errors sorted into
transient, permanent and moderation (and whether a failed create can have made a job)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx2
import openai

from media.frames import ASPECT_RATIOS, RESOLUTIONS
from providers.base import (
    JobState,
    ModerationError,
    PermanentError,
    ProviderError,
    TransientError,
)
from providers.hosted.http import header_seconds

MODERATION_CODES = frozenset({"sentinel_block", "moderation_blocked", "content_policy_violation"})
TRANSIENT_STATUSES = frozenset({408, 409, 429})
# Answers to a create that say the server took nothing: it timed out reading the request
# (408), or shed it (429 rate limit, 503 overloaded). Any other error answer (a 500, a 502
# from a proxy after the backend accepted, 409) leaves the outcome unknown.
NOTHING_MADE_STATUSES = frozenset({408, 429, 503})
# "expired" is its own ending (a plain message of its own); the rest are grouped by meaning.
EXPIRED = "expired"

# The status words of the common dialects: OpenAI's (queued, in_progress, completed,
# failed), the Sora guides' (processing), and the gateways' and job APIs' (pending,
# running, succeeded, done...). Keys are lowercase, with "-" and " " read as "_".
STATUS_WORDS: dict[str, JobState] = {
    **dict.fromkeys(
        ("queued", "pending", "in_queue", "submitted", "waiting", "scheduled", "created",
         "accepted", "not_started", "starting", "preparing"),
        JobState.QUEUED,
    ),
    **dict.fromkeys(
        ("in_progress", "processing", "running", "generating", "rendering", "started",
         "active", "working", "uploading", "postprocessing", "finalizing"),
        JobState.RUNNING,
    ),
    **dict.fromkeys(
        ("completed", "complete", "succeeded", "success", "successful", "done", "finished",
         "ready"),
        JobState.COMPLETED,
    ),
    **dict.fromkeys(
        ("failed", "failure", "error", "errored", "rejected", "timed_out", "timeout",
         EXPIRED),
        JobState.FAILED,
    ),
    **dict.fromkeys(("canceled", "cancelled", "aborted"), JobState.CANCELED),
}  # fmt: skip


def status_word(status: object) -> str:
    """A server's status as the key of STATUS_WORDS: lowercase, "_" for "-" and spaces."""
    return str(status or "").strip().lower().replace("-", "_").replace(" ", "_")


def status_state(status: object) -> JobState | None:
    """What a status word means, in any of the dialects above; None for a word we do not
    know (the caller treats it as still running, with a warning)."""
    return STATUS_WORDS.get(status_word(status))


def unknown_status_warning(status: str) -> str:
    """The event-log line for a status word no dialect we know uses."""
    return (
        f"The video server reported the status {status[:80]!r}, which Studio does not know; "
        "the job is treated as still running until the server says it ended or the "
        "deadline passes."
    )


def progress_percent(value: object) -> int:
    """A job's ``progress`` as a whole percent 0-100, whatever the server sent (a number,
    a numeric string, "50%", nothing)."""
    try:
        number = float(str(value).strip().removesuffix("%")) if value is not None else 0.0
    except ValueError:
        return 0
    if number != number:  # NaN
        return 0
    return int(min(100.0, max(0.0, number)))


def nothing_made(exc: openai.APIError) -> bool:
    """Whether a failed create certainly made no job at the server: the connection was never
    made (so no request was sent), or the server answered that it took nothing."""
    if isinstance(exc, openai.APIConnectionError):
        return isinstance(exc.__cause__, httpx2.ConnectError | httpx2.ConnectTimeout)
    return isinstance(exc, openai.APIStatusError) and exc.status_code in NOTHING_MADE_STATUSES


def frame_of(size: str) -> str | None:
    """Studio's "resolution aspect_ratio" for a server size like "1280x720", or None."""
    try:
        width, height = (int(v) for v in size.lower().split("x"))
    except ValueError:
        return None
    short = min(width, height)
    resolution = next((r for r, px in RESOLUTIONS.items() if px == short), None)
    ratio = next(
        (name for name, (a, b) in ASPECT_RATIOS.items() if abs(width * b - height * a) <= a + b),
        None,
    )
    if resolution is None or ratio is None:
        return None
    return f"{resolution} {ratio}"


def retry_after(headers: Mapping[str, str]) -> float | None:
    return header_seconds(headers, "retry-after-ms", "retry-after")


def error_fields(exc: openai.APIStatusError) -> tuple[str, str]:
    body = exc.body if isinstance(exc.body, dict) else {}
    code = str(exc.code or body.get("code") or body.get("type") or "")
    message = str(body.get("message") or "").strip()
    return code, message


def translate(exc: openai.APIError) -> ProviderError:
    """Sort an SDK error: moderation, transient (408/409/429/5xx, connection, timeout, or
    what ``x-should-retry`` says) or permanent (everything else, with the server's message)."""
    if isinstance(exc, openai.APITimeoutError):
        return TransientError("The video server did not answer in time.", code="timeout")
    if isinstance(exc, openai.APIConnectionError):
        return TransientError("The video server could not be reached.", code="connection")
    if not isinstance(exc, openai.APIStatusError):
        return PermanentError(f"The video server sent an unreadable answer: {exc}")
    status = exc.status_code
    code, message = error_fields(exc)
    if code in MODERATION_CODES:
        return ModerationError(
            "The video server's content policy refused this prompt"
            + (f": {message}" if message else "."),
            code=code,
        )
    headers = exc.response.headers
    should_retry = headers.get("x-should-retry", "")
    if should_retry == "true" or (
        should_retry != "false" and (status in TRANSIENT_STATUSES or status >= 500)
    ):
        return TransientError(
            f"The video server is busy (HTTP {status}){': ' + message if message else '.'}",
            code=code or f"http_{status}",
            retry_after=retry_after(headers),
        )
    return PermanentError(
        message or f"The video server refused the request (HTTP {status}).",
        code=code or f"http_{status}",
    )
