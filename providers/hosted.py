"""What every hosted (API-key) video backend shares: its account settings from admin or the
environment, the submit markers that keep a create exactly-once, the sorting of HTTP
failures, the poll schedule, and streaming an output URL to disk.

A backend imports this module and ``providers.base`` only (never another backend). The
exactly-once rule, for every backend: a marker is written under ``STUDIO_WORK_DIR/<name>/``
before a create is sent; an answer saves the job id in it; a refusal the server certainly
did not act on (a 4xx such as 429, a connection never made) removes it; anything else (a
timeout, a 5xx, a dropped connection, a killed worker) leaves it without an id, and the
next attempt must reconcile (look the job up) or fail with a clear message, never resend.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.db import DatabaseError, models

from providers.base import PermanentError, ProviderError, TransientError

# A job is polled about every POLL_AGE_FRACTION of its age: short gaps while a job is young,
# longer ones for a long job.
POLL_AGE_FRACTION = 0.2
TRANSIENT_STATUSES = frozenset({408, 409, 429})
# Answers to a create that prove the server did not make a job.
REFUSED_STATUSES = frozenset({400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 429})


class HostedAccount(models.Model):
    """One account at a hosted provider, as the operator configured it in admin. The first
    enabled row wins over the environment. Secrets are write-only in admin."""

    name = models.CharField(max_length=100, default="Default")
    enabled = models.BooleanField(default=True)
    api_key = models.CharField(max_length=500, blank=True)
    base_url = models.URLField(
        max_length=300, blank=True, help_text="Leave blank for the provider's own API."
    )
    model_ids = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated model ids to offer (blank: every model Studio knows).",
    )
    webhook_secret = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def split_list(value: str | Iterable[Any]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items if str(item).strip())


@dataclass(frozen=True)
class HostedConfig:
    """A backend's settings at one moment: from its admin row, else the environment."""

    api_key: str = ""
    base_url: str = ""
    models: tuple[str, ...] = ()
    webhook_secret: str = ""
    enabled: bool = True
    source: str = "environment"


def load_config(
    account_model: type[HostedAccount],
    *,
    api_key: str,
    base_url: str = "",
    models_csv: str = "",
    webhook_secret: str = "",
) -> HostedConfig:
    """The first enabled admin row of ``account_model``, else the environment's values."""
    try:
        row = account_model._default_manager.filter(enabled=True).order_by("pk").first()
    except DatabaseError:
        row = None
    if row is not None:
        return HostedConfig(
            api_key=row.api_key,
            base_url=row.base_url,
            models=split_list(row.model_ids),
            webhook_secret=row.webhook_secret,
            source="admin",
        )
    return HostedConfig(
        api_key=api_key,
        base_url=base_url,
        models=split_list(models_csv),
        webhook_secret=webhook_secret,
    )


def timeout_seconds() -> float:
    return float(settings.STUDIO_PROVIDER_TIMEOUT_SECONDS)


# --- exactly-once creates ------------------------------------------------------------------


class Markers:
    """Submit markers of one backend, one small JSON file per idempotency key."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def path(self, key: str) -> Path:
        return Path(settings.STUDIO_WORK_DIR) / self.namespace / f"{key}.json"

    def read(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def write(self, key: str, data: Mapping[str, Any]) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(dict(data), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def forget(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def prune(self) -> None:
        """Forget markers older than two job deadlines: no generation can need them."""
        cutoff = time.time() - 2 * settings.STUDIO_JOB_DEADLINE_SECONDS
        for path in self.path("x").parent.glob("*.json"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


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
    """The first of the named headers as seconds (``*-ms`` in milliseconds)."""
    for name in names:
        value = headers.get(name)
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        return max(0.0, number / 1000 if name.endswith("-ms") else number)
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


# --- downloads -----------------------------------------------------------------------------


class OutputGone(Exception):
    """An output URL answered 403/404/410: expired or not yet readable."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def stream_url(url: str, target: Path, *, provider_name: str) -> None:
    """Stream one output URL to ``target`` (never whole in memory). Raises OutputGone for
    403/404/410 and ProviderError for other failures."""
    try:
        with (
            httpx.stream("GET", url, timeout=timeout_seconds(), follow_redirects=True) as response,
        ):
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


def fit_image_bytes(path: Path, kind: str, size: tuple[int, int], *, fmt: str = "JPEG") -> bytes:
    """The reference as an image of exactly ``size`` (a clip gives its first frame)."""
    from PIL import Image, ImageOps

    from media.stills import extract_poster

    with tempfile.TemporaryDirectory(prefix="studio-ref-") as tmp:
        source = path
        if kind == "video":
            source = Path(tmp) / "first.jpg"
            extract_poster(path, source, at_fraction=0.0)
        with Image.open(source) as image:
            fitted = ImageOps.fit(image.convert("RGB"), size)
        out = Path(tmp) / f"reference.{fmt.lower()}"
        fitted.save(out, fmt, quality=90) if fmt == "JPEG" else fitted.save(out, fmt)
        return out.read_bytes()
