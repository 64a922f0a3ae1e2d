"""fal.ai's queue API for hosted video models (Kling, Veo 3, LTX on fal), through the
official ``fal-client``. Configured in admin (fal account) or by ``FAL_KEY``.

The protocol's traps (``shared/specs/providers.md`` §6), and what this adapter does:

* The client retries every call, the submit POST included, on timeouts, dropped
  connections and 408/409/429 (up to 10 tries, sleeping), and falls back to a backup host:
  a lost answer would be a second, billed request. Its HTTP client is replaced by one whose
  transport makes each call once (``_OnceTransport``) and raises what the client's retry
  loop does not catch; the pipeline retries instead, without sleeping in a worker. The
  queue lists no requests, so a create whose answer was lost (a marker without an id, see
  ``providers.hosted.markers``) fails with a clear message rather than being sent again.
* ``IN_QUEUE`` carries ``queue_position``, shown while waiting. ``COMPLETED`` may carry an
  ``error``: that is a failure (a content-policy one ends ``rejected``). Polls follow the
  pipeline's backoff, never the client's 0.1 s.
* Each model has its own input and output: ``MODELS`` maps Studio's request to the input
  and reads the video URL from the result.
* ``webhook_url`` (when ``STUDIO_PUBLIC_URL`` is set) is a hint; the status is read back.

A job id is ``<model alias>:<request id>``: the queue's URLs need the model.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fal_client
import httpx
from django.conf import settings
from fal_client.auth import FAL_QUEUE_RUN_HOST

from providers.base import (
    JobRequest,
    JobState,
    JobStatus,
    PermanentError,
    Price,
    ProviderError,
    TransientError,
)
from providers.fal.models import FalAccount
from providers.hosted.config import timeout_seconds
from providers.hosted.http import header_seconds, status_error
from providers.hosted.provider import HostedModel, HostedProvider, studio_frame

NAME = "fal"
QUEUE_HOSTS = frozenset({FAL_QUEUE_RUN_HOST, "queue.falrun.com"})
BUSY_STATUSES = frozenset({408, 409, 429})
POLICY_WORDS = ("content_policy", "nsfw", "safety", "moderation")


@dataclass(frozen=True, kw_only=True)
class FalModel(HostedModel):
    endpoint: str
    inputs: Callable[[JobRequest, str], dict[str, Any]]


def _ratio(frame: str) -> str:
    return frame.split()[1]


def _kling(request: JobRequest, frame: str) -> dict[str, Any]:
    return {
        "prompt": request.prompt,
        "duration": str(request.seconds),
        "aspect_ratio": _ratio(frame),
    }


def _veo3(request: JobRequest, frame: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": request.prompt,
        "aspect_ratio": _ratio(frame),
        "duration": f"{request.seconds}s",
        "resolution": frame.split()[0],
        "generate_audio": request.audio,
    }
    if request.seed is not None:
        data["seed"] = request.seed
    return data


def _ltx(request: JobRequest, frame: str) -> dict[str, Any]:
    data: dict[str, Any] = {"prompt": request.prompt}
    if request.seed is not None:
        data["seed"] = request.seed
    return data


MODELS: dict[str, FalModel] = {
    "kling-2.1": FalModel(
        endpoint="fal-ai/kling-video/v2.1/standard/text-to-video",
        label="Kling 2.1 (on fal)",
        frames=("720p 16:9", "720p 9:16", "720p 1:1"),
        seconds=(5, 10),
        inputs=_kling,
    ),
    "veo3": FalModel(
        endpoint="fal-ai/veo3",
        label="Veo 3 (on fal)",
        frames=("720p 16:9", "720p 9:16", "1080p 16:9", "1080p 9:16"),
        seconds=(8,),
        inputs=_veo3,
        audio=True,
    ),
    "ltx-video": FalModel(
        endpoint="fal-ai/ltx-video",
        label="LTX Video (on fal)",
        frames=("480p 16:9", "480p 9:16"),
        seconds=(5,),
        inputs=_ltx,
    ),
}


# Published prices: estimates, editable in admin.
PRICES = {
    "kling-2.1": Price("second", "0.05"),
    "veo3": Price("second", "0.40"),
    "ltx-video": Price("video", "0.02"),
}


class FalCallLost(Exception):
    """A call whose answer never came (timeout, dropped connection); ``sent`` says whether
    the request may have reached fal. Not an httpx error, so the client does not retry."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class FalBusy(Exception):
    """fal answered 408/409/429: nothing was done; the pipeline retries later."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class _OnceTransport(httpx.BaseTransport):
    """Every call exactly once, to ``origin`` instead of the queue host when set (a proxy,
    or a loopback server in tests)."""

    def __init__(self, origin: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.origin = urlsplit(origin) if origin else None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.origin is not None and request.url.host in QUEUE_HOSTS:
            prefix = self.origin.path.rstrip("/")
            request.url = request.url.copy_with(
                scheme=self.origin.scheme,
                host=self.origin.hostname,
                port=self.origin.port,
                raw_path=(prefix + request.url.raw_path.decode()).encode(),
            )
        try:
            response = self.inner.handle_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise FalCallLost(f"fal could not be reached ({exc})", sent=False) from exc
        except httpx.TransportError as exc:
            raise FalCallLost(f"fal's answer was lost ({type(exc).__name__})", sent=True) from exc
        if response.status_code in BUSY_STATUSES:
            response.read()
            response.close()
            raise FalBusy(response)
        return response

    def close(self) -> None:
        self.inner.close()


class _Client(fal_client.SyncClient):
    """The official client with its HTTP client swapped for a once-only one."""

    origin: str = ""

    @cached_property
    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=_OnceTransport(self.origin),
            headers={"Authorization": self._auth.header_value, "User-Agent": "studio"},
            timeout=self.default_timeout,
            follow_redirects=True,
        )


class FalProvider(HostedProvider):
    """fal's queue for one configured key. Safe to share between threads."""

    slug = "fal"
    name = NAME
    description = "Hosted open and commercial video models on fal.ai's queue."
    models = MODELS
    prices = PRICES
    account_model = FalAccount
    env_prefix = "STUDIO_FAL"
    base_url_name = "QUEUE_URL"

    @property
    def client(self) -> _Client:
        config = self.config()
        timeout = timeout_seconds()

        def make() -> _Client:
            client = _Client(key=config.api_key or "none", default_timeout=timeout)
            object.__setattr__(client, "origin", config.base_url)
            return client

        return self.cached_client((config.api_key, config.base_url, timeout), make)

    def webhook_token(self) -> str:
        secret = self.config().webhook_secret or settings.SECRET_KEY
        return hmac.new(secret.encode(), b"fal-webhook", hashlib.sha256).hexdigest()[:32]

    def webhook_url(self, alias: str) -> str | None:
        base = settings.STUDIO_PUBLIC_URL.rstrip("/")
        return f"{base}/webhooks/fal/{self.webhook_token()}/{alias}/" if base else None

    # --- exactly-once submission (the queue lists no requests: ``reconcile`` fails it) --

    def submit(self, request: JobRequest) -> str:
        alias, _ = self.model_for(request.model)
        spec = MODELS[alias]
        frame = studio_frame(request.width, request.height)
        if frame not in spec.frames or request.seconds not in spec.seconds:
            raise PermanentError(f"{spec.label} cannot make this size or length.", code="size")
        arguments = spec.inputs(request, frame)

        def send() -> str:
            handle = self.client.submit(
                spec.endpoint, arguments, webhook_url=self.webhook_url(alias)
            )
            return f"{alias}:{handle.request_id}"

        return self.send_create(
            request.key,
            {"model": alias},
            send,
            errors=(FalBusy, FalCallLost, fal_client.FalClientHTTPError),
            refused=_refused,
            translate=translate,
        )

    # --- polling -----------------------------------------------------------------------

    def _split(self, job_id: str) -> tuple[FalModel, str]:
        alias, _, request_id = job_id.partition(":")
        if alias not in MODELS or not request_id:
            raise PermanentError(f"Not a fal job id: {job_id!r}.", code="job_id")
        return MODELS[alias], request_id

    def _call(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (FalBusy, FalCallLost, fal_client.FalClientHTTPError) as exc:
            raise translate(exc) from exc

    def poll(self, job_id: str) -> JobStatus:
        spec, request_id = self._split(job_id)
        try:
            status = self._call(lambda: self.client.status(spec.endpoint, request_id))
        except ValueError as exc:  # a status outside the protocol
            return JobStatus(
                JobState.FAILED,
                error_code="unknown_status",
                error_message=f"fal ended the job with an unknown status ({exc}).",
            )
        if isinstance(status, fal_client.Queued):
            return JobStatus(
                JobState.QUEUED,
                progress=0,
                extra={
                    "queue_position": status.position,
                    "note": f"Number {status.position + 1} in fal's queue.",
                },
            )
        if isinstance(status, fal_client.InProgress):
            return JobStatus(JobState.RUNNING, progress=50)
        if isinstance(status, fal_client.Completed) and status.error:
            kind = str(status.error_type or "")
            if any(word in (kind + str(status.error)).lower() for word in POLICY_WORDS):
                return JobStatus(
                    JobState.REJECTED,
                    error_code="content_policy",
                    error_message=f"fal's content policy refused this video: {status.error}",
                )
            return JobStatus(
                JobState.FAILED, error_code=kind or "failed", error_message=str(status.error)
            )
        return JobStatus(JobState.COMPLETED, progress=100)

    def download(self, job_id: str, dest: Path) -> list[Path]:
        """Read the result and stream its video; an expired URL is read once more."""
        spec, request_id = self._split(job_id)

        def video_url() -> str:
            result = self._call(lambda: self.client.result(spec.endpoint, request_id))
            url = _video_url(result)
            if not url:
                raise PermanentError("fal's result has no video to save.", code="no_output")
            return url

        return self.fetch_video(job_id, dest, video_url)

    def cancel(self, job_id: str) -> None:
        spec, request_id = self._split(job_id)
        try:
            self._call(lambda: self.client.cancel(spec.endpoint, request_id))
        except PermanentError:
            return  # already finished or unknown: nothing to stop


def _video_url(result: Any) -> str:
    """The video URL of a fal result (``{video: {url}}``, or ``{videos: [{url}]}``)."""
    if not isinstance(result, dict):
        return ""
    video = result.get("video")
    if isinstance(video, dict) and video.get("url"):
        return str(video["url"])
    videos = result.get("videos")
    if isinstance(videos, list) and videos and isinstance(videos[0], dict):
        return str(videos[0].get("url") or "")
    return ""


def _refused(exc: Exception) -> bool:
    """Whether fal certainly made nothing: busy, never reached, or a 4xx."""
    if isinstance(exc, FalCallLost):
        return not exc.sent
    if isinstance(exc, fal_client.FalClientHTTPError):
        return exc.status_code < 500
    return True


def translate(exc: Exception) -> ProviderError:
    """Sort a call's failure: busy and lost calls are transient, HTTP errors by status."""
    if isinstance(exc, FalBusy):
        return TransientError(
            f"fal is busy (HTTP {exc.response.status_code}).",
            code=f"http_{exc.response.status_code}",
            retry_after=header_seconds(exc.response.headers, "retry-after"),
        )
    if isinstance(exc, FalCallLost):
        return TransientError(str(exc), code="lost")
    assert isinstance(exc, fal_client.FalClientHTTPError)
    return status_error(NAME, exc.status_code, str(exc.message or ""), exc.response.headers)
