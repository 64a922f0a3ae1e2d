"""What the protocol's answers mean: a server size as Studio's frame, the retry hints in
response headers, and SDK errors sorted into transient, permanent and moderation."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import openai

from media.frames import ASPECT_RATIOS, RESOLUTIONS
from providers.base import ModerationError, PermanentError, ProviderError, TransientError

MODERATION_CODES = frozenset({"sentinel_block", "moderation_blocked", "content_policy_violation"})
TRANSIENT_STATUSES = frozenset({408, 409, 429})


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


def header_seconds(headers: Mapping[str, str], *names: str) -> float | None:
    """The first of the named headers as seconds: ``*-ms`` in milliseconds, ``retry-after``
    in seconds or as an HTTP date."""
    for name in names:
        value = headers.get(name)
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if name == "retry-after" else None
            if parsed is None:
                continue
            number = parsed.timestamp() - time.time()
        else:
            if name.endswith("-ms"):
                number /= 1000
        return max(0.0, number)
    return None


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
