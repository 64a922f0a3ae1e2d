"""Luma Dream Machine's video API (ray-2, ray-flash-2), through the official ``lumaai`` SDK.
Configured in admin (Luma account) or by ``LUMAAI_API_KEY``.

The protocol's traps (``shared/specs/providers.md`` §4), and what this adapter does:

* The SDK retries POSTs and Luma takes no idempotency key. Every call runs with
  ``max_retries=0``; a marker is committed before the create (``providers.hosted.markers``), and a
  create whose answer was lost is found again by listing the account's generations (newest
  first, offset pages) for one with the same request, made since the marker, that no other
  generation owns. Only when none is found is the job sent again.
* ``callback_url`` (when ``STUDIO_PUBLIC_URL`` is set) points at this Studio's webhook,
  which only says "look now": the generation is always read back through ``get``.
* An extension of a Luma video is a new generation whose keyframe ``frame0`` is the earlier
  generation; ``loop`` is passed through.
* ``failed`` with a moderation reason ends ``rejected``; any state outside the protocol is
  a failure with its name. Output URLs are read fresh from the generation at each download.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Any, cast

import lumaai
from django.conf import settings
from lumaai.types import Generation

from providers.base import (
    Capabilities,
    JobRequest,
    JobsTaken,
    JobState,
    JobStatus,
    ModerationError,
    PermanentError,
    Price,
    ProviderError,
)
from providers.hosted.config import timeout_seconds
from providers.hosted.http import poll_interval
from providers.hosted.provider import HostedModel, HostedProvider, sdk_error, sdk_refused
from providers.luma.models import LumaAccount

NAME = "Luma"
SECONDS = {5: "5s", 9: "9s"}
FRAMES = tuple(f"{r} {a}" for r in ("720p", "1080p") for a in ("16:9", "9:16", "1:1"))
MODELS = {
    "ray-2": HostedModel(label="Ray 2", frames=FRAMES, seconds=tuple(SECONDS)),
    "ray-flash-2": HostedModel(label="Ray Flash 2", frames=FRAMES, seconds=tuple(SECONDS)),
}
# Published prices per second of video (720p): estimates, editable in admin.
PRICES = {"ray-2": Price("second", "0.16"), "ray-flash-2": Price("second", "0.06")}
# Generations listed at most when looking for one whose create answer was lost.
RECONCILE_MAX = 300
CLOCK_SKEW_SECONDS = 120.0
MODERATION_WORDS = ("moderation", "not allowed", "policy")


class LumaProvider(HostedProvider):
    """Luma's API for one configured account. Safe to share between threads."""

    slug = "luma"
    name = NAME
    description = "Luma Dream Machine (Ray 2), with keyframes and loops."

    models = MODELS
    prices = PRICES
    account_model = LumaAccount
    env_prefix = "STUDIO_LUMA"

    def capabilities(self, model: str = "") -> Capabilities:
        # Every Luma frame is any resolution with any ratio: no frame_choices.
        return self.with_capabilities(
            model, frame_choices=(), extend=True, keyframes=True, loop=True
        )

    @property
    def client(self) -> lumaai.LumaAI:
        """No SDK retries (a retried POST may be a second, billed generation); the
        pipeline retries instead. One client per configuration."""
        config = self.config()
        timeout = timeout_seconds()
        return self.cached_client(
            (config.api_key, config.base_url, timeout),
            lambda: lumaai.LumaAI(
                auth_token=config.api_key or "none",
                base_url=config.base_url or None,
                max_retries=0,
                timeout=timeout,
            ),
        )

    def callback_token(self) -> str:
        """The secret part of the callback URL: Luma signs nothing, so only a caller who
        knows the URL can ask Studio to look (and a look reads the job from Luma)."""
        secret = self.config().webhook_secret or settings.SECRET_KEY
        return hmac.new(secret.encode(), b"luma-callback", hashlib.sha256).hexdigest()[:32]

    def callback_url(self) -> str:
        base = settings.STUDIO_PUBLIC_URL.rstrip("/")
        return f"{base}/webhooks/luma/{self.callback_token()}/" if base else ""

    # --- exactly-once submission -------------------------------------------------------

    def reconcile(self, marker: dict[str, Any], taken: JobsTaken) -> str | None:
        """A listed generation matching the lost create's request, made since its marker,
        that no other generation owns (None: none, send it again). Raises TransientError
        when Luma cannot be asked."""
        return self._match(marker, taken)

    def _match(self, marker: dict[str, Any], taken: JobsTaken) -> str | None:
        since = float(marker["sent_at"]) - CLOCK_SKEW_SECONDS
        candidates: list[Generation] = []
        offset = 0
        try:
            while offset < RECONCILE_MAX:
                page = self.client.generations.list(limit=100, offset=offset)
                for generation in page.generations:
                    created = generation.created_at.timestamp() if generation.created_at else 0
                    if created >= since and _same_request(generation, marker):
                        candidates.append(generation)
                oldest = min(
                    (g.created_at.timestamp() for g in page.generations if g.created_at),
                    default=0.0,
                )
                if not page.has_more or not page.generations or oldest < since:
                    break
                offset += len(page.generations)
        except lumaai.APIError as exc:
            raise translate(exc) from exc
        owned = taken([str(g.id) for g in candidates])
        free = sorted(
            (g for g in candidates if g.id not in owned),
            key=lambda g: g.created_at.timestamp() if g.created_at else 0,
        )
        return str(free[0].id) if free else None

    def _create_kwargs(self, request: JobRequest) -> dict[str, Any]:
        model, _ = self.model_for(request.model)
        duration = SECONDS.get(request.seconds)
        if duration is None:
            raise PermanentError("Luma makes 5 s and 9 s clips.", code="seconds")
        kwargs: dict[str, Any] = {
            "model": model,
            "prompt": request.prompt,
            "aspect_ratio": _aspect_ratio(request.width, request.height),
            "resolution": f"{min(request.width, request.height)}p",
            "duration": duration,
        }
        if request.loop:
            kwargs["loop"] = True
        if request.operation == "extend":
            kwargs["keyframes"] = {"frame0": {"type": "generation", "id": request.source_job_id}}
        elif request.operation != "create":
            raise PermanentError(f"Luma cannot {request.operation} a video.", code="operation")
        callback = self.callback_url()
        if callback:
            kwargs["callback_url"] = callback
        return kwargs

    def submit(self, request: JobRequest) -> str:
        """Send one create with no retries; the marker committed first lets ``find_job``
        find the generation if the answer is lost."""
        kwargs = self._create_kwargs(request)
        marker = {
            "prompt": request.prompt,
            "model": kwargs["model"],
            "aspect_ratio": kwargs["aspect_ratio"],
        }
        return self.send_create(
            request.key,
            marker,
            lambda: str(cast(Any, self.client.generations.video).create(**kwargs).id or ""),
            errors=(lumaai.APIError,),
            refused=lambda exc: sdk_refused(lumaai, exc),
            translate=translate,
        )

    # --- polling -----------------------------------------------------------------------

    def _get(self, job_id: str) -> Generation:
        try:
            return self.client.generations.get(job_id)
        except lumaai.APIError as exc:
            raise translate(exc) from exc

    def poll(self, job_id: str) -> JobStatus:
        generation = self._get(job_id)
        state = str(generation.state or "")
        if state in ("queued", "dreaming"):
            created = generation.created_at.timestamp() if generation.created_at else time.time()
            interval = poll_interval(time.time() - created, webhooks=bool(self.callback_url()))
            return JobStatus(
                JobState.QUEUED if state == "queued" else JobState.RUNNING,
                progress=0 if state == "queued" else 50,
                retry_after=interval,
            )
        if state == "completed":
            return JobStatus(JobState.COMPLETED, progress=100)
        reason = str(generation.failure_reason or "").strip()
        if state == "failed":
            if any(word in reason.lower() for word in MODERATION_WORDS):
                return JobStatus(
                    JobState.REJECTED,
                    error_code="moderation",
                    error_message="Luma's content policy refused this video"
                    + (f": {reason}" if reason else "."),
                )
            return JobStatus(
                JobState.FAILED,
                error_code="failed",
                error_message=reason or "Luma could not make this video.",
            )
        return JobStatus(
            JobState.FAILED,
            error_code="unknown_state",
            error_message=f"Luma ended the job as {state!r}.",
        )

    def download(self, job_id: str, dest: Path) -> list[Path]:
        """Stream the generation's video; its URL is read fresh, and once more if the link
        has expired, before the pipeline retries."""

        def video_url() -> str:
            generation = self._get(job_id)
            url = generation.assets.video if generation.assets else None
            if generation.state != "completed" or not url:
                raise PermanentError("Luma's generation has no video to save.", code="no_output")
            return url

        return self.fetch_video(job_id, dest, video_url)

    def cancel(self, job_id: str) -> None:
        """Luma has no cancel: deleting the generation stops it."""
        try:
            self.client.generations.delete(job_id)
        except lumaai.NotFoundError:
            return
        except lumaai.APIError as exc:
            raise translate(exc) from exc


def _same_request(generation: Generation, marker: dict[str, Any]) -> bool:
    """Whether a listed generation is the one the marker's request made. Fields Luma left
    out are not held against it."""
    request = cast(Any, generation.request)
    pairs = (
        (getattr(request, "prompt", None), marker["prompt"]),
        (generation.model or getattr(request, "model", None), marker["model"]),
        (getattr(request, "aspect_ratio", None), marker["aspect_ratio"]),
    )
    return all(seen in (None, "") or str(seen) == str(wanted) for seen, wanted in pairs)


def _aspect_ratio(width: int, height: int) -> str:
    if width == height:
        return "1:1"
    return "16:9" if width > height else "9:16"


def _moderation(status: int, body: dict[str, Any], message: str) -> ProviderError | None:
    if status == 400 and any(word in message.lower() for word in MODERATION_WORDS):
        return ModerationError(f"Luma's content policy refused this prompt: {message}")
    return None


def translate(exc: lumaai.APIError) -> ProviderError:
    """Sort an SDK error: moderation, transient (timeouts, connections, 429, 5xx) or
    permanent (with Luma's message)."""
    return sdk_error(lumaai, exc, NAME, message_keys=("detail", "message"), moderation=_moderation)
