"""The retry hints every provider reads from an answer's headers (one reader for the
OpenAI-compatible endpoints and the hosted APIs)."""

from __future__ import annotations

import email.utils
import time

import pytest

from providers.hosted.http import header_seconds


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # the first named wins
        ({"retry-after": "-3"}, 0.0),  # never a negative wait
        ({"retry-after": "soon"}, None),  # neither a number nor a date: no hint, no error
        ({"retry-after-ms": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),  # only retry-after has dates
        ({}, None),
    ],
)
def test_hints(headers: dict[str, str], expected: float | None) -> None:
    assert header_seconds(headers, "retry-after-ms", "retry-after") == expected


def test_a_retry_after_date_is_the_wait_until_then() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    wait = header_seconds({"retry-after": when}, "retry-after")
    assert wait is not None and 28 <= wait <= 31
