"""Any OpenAI-compatible ``/v1/videos`` server (a gateway, a self-hosted server), driven
through the official ``openai`` SDK.

One ``OpenAICompatProvider`` serves one configured endpoint (``EndpointConfig``, made from a
``VideoEndpoint`` row or from ``STUDIO_OPENAI_ENDPOINTS``); its slug is ``openai-<slug>``.

The protocol's traps, and what this adapter does about them:

* The SDK sends no idempotency key and retries POSTs, so a timeout or a 5xx after the server
  accepted a job would make a second, billed job. Every call here runs with
  ``max_retries=0`` (the pipeline retries, with jitter and without sleeping in a worker).
  Before the create is sent a marker is written and committed (a ``SentCreate`` row);
  ``find_job`` reads it: no marker means nothing was ever sent, a marker with a job id is a
  job whose id we already have, and a marker without one means the outcome is unknown and
  the server's recent jobs are listed (cursor pagination). A job is adopted only when it is
  proven ours: created after the send (on the server's own clock, from its ``Date``
  header), every compared field (prompt, model, size, seconds; a remix's source) present and
  equal, no other generation owning it, and no second such job. Finding none, Studio looks
  again through a grace window (a list may lag behind its creates), then fails the job with
  a plain message; it never guesses and never sends the create again. A create that
  certainly made nothing (the connection was refused, a 408/429/503) leaves no marker, so
  it is simply sent again. The ``Idempotency-Key`` header is sent as well, for the gateways
  that honour it.
* The dict forms of ``input_reference`` / ``video`` break the SDK's multipart encoder: the
  reference image is uploaded as a file tuple, and an extension is posted as JSON.
* Status words of other dialects (``processing``, ``pending``, ``succeeded``, ``done``...,
  see ``protocol.STATUS_WORDS``) mean what they say; a word nobody knows is read as still
  running (until the job's deadline) and noted in the job's event log, never as an ending.
* Downloads are streamed to disk, then checked to be a video (its first bytes and a probe)
  before anything is stored: a gateway's HTML page with a 200 fails the job with a plain
  message. A 403/404 on the content is retried while the server's ``expires_at`` window
  is open, then fails the job with a plain message.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import openai
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from openai.types import Video
from PIL import Image, ImageOps

from media.frames import ASPECT_RATIOS, RESOLUTIONS
from media.stills import extract_poster
from providers.base import (
    Capabilities,
    JobRequest,
    JobsTaken,
    JobState,
    JobStatus,
    PermanentError,
    Provider,
    ProviderError,
    TransientError,
    nothing_taken,
)
from providers.hosted.http import header_seconds
from providers.openai_compat import schedule
from providers.openai_compat.config import EndpointConfig
from providers.openai_compat.content import check_is_video, is_image
from providers.openai_compat.models import SentCreate
from providers.openai_compat.protocol import (
    EXPIRED,
    MODERATION_CODES,
    error_fields,
    frame_of,
    nothing_made,
    progress_percent,
    status_state,
    status_word,
    translate,
    unknown_status_warning,
)
from providers.openai_compat.reconcile import reconcile

log = logging.getLogger(__name__)

# The SDK marks every videos.* call deprecated (OpenAI's own Sora API is gone); the protocol
# is what we use, at other servers, so the warning is noise.
warnings.filterwarnings("ignore", message="The Sora API", category=DeprecationWarning)

EXTRAS = {"thumbnail": "thumbnail.webp", "spritesheet": "spritesheet.jpg"}


class OpenAICompatProvider(Provider):
    """One OpenAI-compatible endpoint. Safe to share between threads of one process."""

    description = "An OpenAI-compatible /v1/videos server (a gateway or your own)."

    def __init__(self, config: EndpointConfig) -> None:
        self.config = config
        self.slug = config.provider_slug
        self.name = config.name
        self._clients: dict[float, openai.OpenAI] = {}

    # --- what the endpoint makes -----------------------------------------------------------

    def is_available(self) -> bool:
        return self.config.enabled and bool(self.config.model_ids)

    def capabilities(self, model: str = "") -> Capabilities:
        frames = tuple(dict.fromkeys(f for s in self.config.sizes if (f := frame_of(s))))
        seconds = tuple(sorted(self.config.seconds))
        return Capabilities(
            resolutions=tuple(r for r in RESOLUTIONS if any(f.startswith(r) for f in frames)),
            aspect_ratios=tuple(a for a in ASPECT_RATIOS if any(f.endswith(a) for f in frames)),
            min_seconds=seconds[0] if seconds else 0,
            max_seconds=seconds[-1] if seconds else 0,
            max_variations=1,
            image_input=self.config.image_input,
            video_input=self.config.image_input,
            remix=self.config.remix,
            extend=self.config.extend,
            models=self.config.model_ids,
            seconds_choices=seconds,
            frame_choices=frames,
        )

    def size_for(self, width: int, height: int) -> str:
        """The server size string for Studio's frame size (exact match on its frame)."""
        wanted = frame_of(f"{width}x{height}")
        for size in self.config.sizes:
            if frame_of(size) == wanted:
                return size
        raise PermanentError(f"{self.name} does not make {width}×{height} video.", code="size")

    # --- the SDK client --------------------------------------------------------------------

    @property
    def client(self) -> openai.OpenAI:
        """No SDK retries: a retried POST is a duplicate job, and a retry sleeps in a worker.
        The pipeline retries instead, with backoff and the server's Retry-After. One client
        (one connection pool) per timeout setting."""
        timeout = float(settings.STUDIO_OPENAI_TIMEOUT_SECONDS)
        client = self._clients.get(timeout)
        if client is None:
            client = openai.OpenAI(
                base_url=self.config.base_url,
                # The SDK refuses to start without a key; a server that wants none ignores it.
                api_key=self.config.api_key or "none",
                max_retries=0,
                timeout=httpx2.Timeout(timeout, connect=min(5.0, timeout)),
            )
            self._clients[timeout] = client
        return client

    # --- exactly-once submission -----------------------------------------------------------

    # The marker of a create lives in the database (SentCreate), committed before the
    # call: workers on other machines share nothing else with this one.

    def _read_marker(self, key: str) -> dict[str, Any] | None:
        sent = SentCreate.objects.filter(key=key).first()
        if sent is None:
            return None
        return {**sent.request, "job_id": sent.job_id}

    def _write_marker(self, key: str, data: dict[str, Any]) -> None:
        request = {name: value for name, value in data.items() if name != "job_id"}
        # durable: raises inside a caller's transaction, which could roll the marker back
        # after the create went out.
        with transaction.atomic(durable=True):
            SentCreate.objects.update_or_create(
                key=key,
                defaults={
                    "provider": self.slug,
                    "request": request,
                    "job_id": str(data.get("job_id") or ""),
                },
            )

    def _forget_marker(self, key: str) -> None:
        SentCreate.objects.filter(key=key).delete()

    def _prune_markers(self) -> None:
        """Forget markers older than two job deadlines: no generation can need them."""
        cutoff = timezone.now() - timedelta(seconds=2 * settings.STUDIO_JOB_DEADLINE_SECONDS)
        SentCreate.objects.filter(sent_at__lt=cutoff).delete()

    def find_job(self, key: str, *, taken: JobsTaken = nothing_taken) -> str | None:
        """The server's job for this key: none if no create was ever sent for it (or the
        server certainly made nothing), the saved id if the create answered, else the one
        listed job proven to be the create's (its outcome was unknown: a timeout, a 5xx, a
        killed worker; see ``reconcile.reconcile``). Raises TransientError while the job may
        still appear or the server cannot be asked, so nothing is sent while the outcome is
        unknown, and PermanentError once it cannot be proven. ``taken`` says which listed
        jobs already belong to a generation."""
        marker = self._read_marker(key)
        if marker is None:
            return None
        if marker.get("job_id"):
            return str(marker["job_id"])
        found = reconcile(self.client, marker, taken)
        log.info("%s: found job %s for key %s after an unknown outcome", self.slug, found, key)
        self._write_marker(key, {**marker, "job_id": found})
        return found

    def submit(self, request: JobRequest) -> str:
        """Send one create (or remix / extension) with no retries and return the job id.

        A marker written before the call lets ``find_job`` reconcile an unknown outcome.
        Raises ModerationError, PermanentError (the server's message) or TransientError."""
        model = request.model or (self.config.model_ids[0] if self.config.model_ids else "")
        size = self.size_for(request.width, request.height)
        seconds = str(request.seconds)
        marker = {
            "provider": self.slug,
            "operation": request.operation,
            "source": request.source_job_id,
            "prompt": request.prompt,
            "model": model,
            "size": size,
            "seconds": seconds,
            "sent_at": time.time(),
        }
        self._write_marker(request.key, marker)
        self._prune_markers()
        headers = {"Idempotency-Key": request.key}
        try:
            video = self._send(request, model=model, size=size, seconds=seconds, headers=headers)
        except openai.APIError as exc:
            error = translate(exc)
            if not error.transient or nothing_made(exc):
                # The server refused it, or never got it: no job exists to find later.
                self._forget_marker(request.key)
            raise error from exc
        self._write_marker(request.key, {**marker, "job_id": video.id})
        return video.id

    def _send(
        self, request: JobRequest, *, model: str, size: str, seconds: str, headers: dict[str, str]
    ) -> Video:
        videos = self.client.videos
        if request.operation == "remix":
            return videos.remix(request.source_job_id, prompt=request.prompt, extra_headers=headers)
        if request.operation == "extend":
            # `video={"id": ...}` makes the SDK's multipart encoder raise; the spec allows
            # JSON, so post it through the SDK's own client (auth is opt-in per request).
            return self.client.post(
                "/videos/extensions",
                cast_to=Video,
                body={
                    "prompt": request.prompt,
                    "seconds": seconds,
                    "video": {"id": request.source_job_id},
                },
                options={"headers": headers, "security": {"bearer_auth": True}},
            )
        extra: dict[str, Any] = {}
        if request.reference_path is not None:
            extra["input_reference"] = _reference_upload(request, size)
        return videos.create(
            prompt=request.prompt,
            model=model,
            size=size,  # type: ignore[arg-type]  # free strings: the server decides
            seconds=seconds,  # type: ignore[arg-type]
            extra_headers=headers,
            **extra,
        )

    # --- polling ---------------------------------------------------------------------------

    def poll(self, job_id: str) -> JobStatus:
        """One GET of the job. Anything but queued / in_progress is terminal. The next look
        is timed to the job's expected finish (``schedule.next_look``), never sooner than the
        server's ``openai-poll-after-ms`` / ``Retry-After``; with webhooks configured, only
        every STUDIO_POLL_MAX_SECONDS."""
        try:
            raw = self.client.videos.with_raw_response.retrieve(job_id)
            video = raw.parse()
        except openai.APIError as exc:
            raise translate(exc) from exc
        if str(video.status) == "completed" and video.completed_at and video.created_at:
            schedule.remember_duration(self.slug, video.completed_at - video.created_at)
        return self.status_of(video, raw.headers)

    def status_of(self, video: Video, headers: Mapping[str, str]) -> JobStatus:
        status = str(video.status)
        progress = progress_percent(video.progress)
        meaning = status_state(status)
        if meaning is None and video.error is not None:
            meaning = JobState.FAILED  # a word we do not know, but an error: an ending
        if meaning in (JobState.QUEUED, JobState.RUNNING, None):
            age = max(0.0, time.time() - float(video.created_at or time.time()))
            interval = schedule.next_look(
                age=age,
                progress=progress,
                history=schedule.durations(self.slug),
                webhooks=bool(self.config.webhook_secret),
            )
            hint = header_seconds(headers, "openai-poll-after-ms", "retry-after-ms", "retry-after")
            return JobStatus(
                meaning or JobState.RUNNING,
                progress=progress,
                retry_after=max(interval, hint or 0.0),
                warning="" if meaning else unknown_status_warning(status),
            )
        if meaning == JobState.COMPLETED:
            return JobStatus(JobState.COMPLETED, progress=100)
        error = video.error
        code = str(getattr(error, "code", "") or "")
        message = str(getattr(error, "message", "") or "")
        if code in MODERATION_CODES:
            return JobStatus(
                JobState.REJECTED,
                error_code=code,
                error_message="The video server's content policy refused this video"
                + (f": {message}" if message else "."),
            )
        if meaning == JobState.CANCELED:
            return JobStatus(JobState.CANCELED, error_code="canceled")
        if status_word(status) == EXPIRED:
            return JobStatus(
                JobState.FAILED,
                error_code="expired",
                error_message="The video server let the job expire before it finished.",
            )
        return JobStatus(
            JobState.FAILED,
            error_code=code or "failed",
            error_message=message or "The video server could not make this video.",
        )

    # --- downloads -------------------------------------------------------------------------

    def download(self, job_id: str, dest: Path) -> list[Path]:
        """Stream the ``video`` variant to ``dest/video-0.mp4`` (never whole in memory).

        A 403/404/410 is retried (TransientError) while the server's download window is
        open (its ``expires_at``, else STUDIO_OPENAI_DOWNLOAD_WINDOW_SECONDS after
        completion), then ends the job with a PermanentError."""
        target = dest / "video-0.mp4"
        try:
            self._stream(job_id, "video", target)
        except openai.APIStatusError as exc:
            if exc.status_code in (403, 404, 410):
                raise self._unavailable(job_id, exc) from exc
            raise translate(exc) from exc
        except openai.APIError as exc:
            raise translate(exc) from exc
        check_is_video(target)
        return [target]

    def _stream(self, job_id: str, variant: str, target: Path) -> None:
        content = self.client.videos.with_streaming_response.download_content
        with content(job_id, variant=variant) as response, target.open("wb") as f:  # type: ignore[arg-type]
            for chunk in response.iter_bytes(chunk_size=1 << 20):
                f.write(chunk)

    def _unavailable(self, job_id: str, exc: openai.APIStatusError) -> ProviderError:
        _, message = error_fields(exc)
        detail = f"HTTP {exc.status_code}" + (f": {message}" if message else "")
        try:
            video = self.client.videos.retrieve(job_id)
        except openai.APIError as lookup:
            return translate(lookup)
        now = time.time()
        closes = video.expires_at or (
            (video.completed_at or video.created_at)
            + settings.STUDIO_OPENAI_DOWNLOAD_WINDOW_SECONDS
        )
        if now < closes:
            return TransientError(
                f"The video server would not hand over the video yet ({detail}).",
                code="download_unavailable",
            )
        return PermanentError(
            "The video server's copy expired before Studio could save it "
            f"({detail}). Generate it again.",
            code="download_expired",
        )

    def download_extras(self, job_id: str, dest: Path) -> dict[str, Path]:
        """The ``thumbnail`` and ``spritesheet`` variants, each when the server has it."""
        found: dict[str, Path] = {}
        for variant, filename in EXTRAS.items():
            target = dest / filename
            try:
                self._stream(job_id, variant, target)
            except openai.APIError as exc:
                log.info("%s: no %s for %s: %s", self.slug, variant, job_id, exc)
                target.unlink(missing_ok=True)
                continue
            if not is_image(target):
                log.warning("%s: the %s of %s is not an image; skipped", self.slug, variant, job_id)
                target.unlink(missing_ok=True)
                continue
            found[variant] = target
        return found

    def cancel(self, job_id: str) -> None:
        """The protocol has no cancel; a job past its deadline is left to the server."""

    def release(self, job_id: str) -> None:
        """Nothing to free: the server's copy expires on its own."""


def _reference_upload(request: JobRequest, size: str) -> tuple[str, bytes, str]:
    """The reference as an uploaded PNG of exactly ``size`` (the server wants the first
    frame's size); a clip contributes its first frame. A file tuple, never the dict form."""
    assert request.reference_path is not None
    width, height = (int(v) for v in size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="studio-ref-") as tmp:
        source = request.reference_path
        if request.reference_kind == "video":
            source = Path(tmp) / "first.jpg"
            extract_poster(request.reference_path, source, at_fraction=0.0)
        with Image.open(source) as image:
            fitted = ImageOps.fit(image.convert("RGB"), (width, height))
        out = Path(tmp) / "reference.png"
        fitted.save(out, "PNG")
        return ("reference.png", out.read_bytes(), "image/png")


@cache
def endpoint_provider(config: EndpointConfig) -> OpenAICompatProvider:
    """The provider for one endpoint configuration; cached by the whole configuration, so
    an endpoint edited in admin gets a fresh provider (and client) at its next lookup."""
    return OpenAICompatProvider(config)
