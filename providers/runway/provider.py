"""Runway's video API (text-to-video and image-to-video), through the official ``runwayml``
SDK. Configured in admin (Runway account) or by ``RUNWAYML_API_SECRET``.

The protocol's traps (``shared/specs/providers.md`` §3), and what this adapter does:

* The SDK retries POSTs (2 retries) and Runway takes no idempotency key and lists no tasks,
  so a create whose answer was lost cannot be looked up. Every call runs with
  ``max_retries=0``; a marker is written before the create (``providers.hosted``), and a
  create whose outcome is unknown fails with a clear message instead of being sent again.
* ``THROTTLED`` is a queued job waiting behind the account's concurrency limit.
* ``SAFETY.*`` failures end ``rejected`` with a plain message (the code is never shown);
  ``INTERNAL.BAD_OUTPUT.*`` failures are made again, up to BAD_OUTPUT_RETRIES times, as a
  new task chained to the first (the generation keeps the first task's id).
* Output URLs expire within 24-48 h: each download reads the task again for fresh ones.
* Statuses are read from the raw JSON, so a status outside the SDK's union is a failure
  with its name, never a crash; cancel is ``tasks.delete``.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import runwayml
from django.conf import settings

from providers.base import (
    Capabilities,
    JobRequest,
    JobsTaken,
    JobState,
    JobStatus,
    ModerationError,
    PermanentError,
    Price,
    Provider,
    ProviderError,
    TransientError,
    nothing_taken,
)
from providers.hosted import (
    REFUSED_STATUSES,
    HostedConfig,
    Markers,
    OutputGone,
    fit_image_bytes,
    load_config,
    never_sent,
    poll_interval,
    status_error,
    stream_url,
    timeout_seconds,
    unknown_outcome,
)
from providers.runway.models import RunwayAccount

log = logging.getLogger(__name__)

NAME = "Runway"
BAD_OUTPUT_RETRIES = 2
# Runway bills in credits; one credit is one US cent (its API pricing page).
USD_PER_CREDIT = 0.01
SAFETY_MESSAGE = "Runway's content policy refused this video. Try a different prompt or image."
THROTTLED_NOTE = "Waiting behind your Runway account's concurrency limit."


@dataclass(frozen=True)
class RunwayModel:
    label: str
    # Studio's "resolution aspect_ratio" → Runway's "W:H" ratio.
    ratios: dict[str, str]
    seconds: tuple[int, ...]
    audio: bool = False
    image_input: bool = True
    text_input: bool = True


_VEO_RATIOS = {
    "720p 16:9": "1280:720",
    "720p 9:16": "720:1280",
    "1080p 16:9": "1920:1080",
    "1080p 9:16": "1080:1920",
}
# Published prices (credits at $0.01), per second of video: estimates, editable in admin.
PRICES = {
    "gen4.5": Price("second", "0.12"),
    "veo3.1": Price("second", "0.40"),
    "veo3.1_fast": Price("second", "0.15"),
    "kling2.5_turbo_pro": Price("second", "0.07"),
}

MODELS: dict[str, RunwayModel] = {
    "gen4.5": RunwayModel(
        "Gen-4.5", {"720p 16:9": "1280:720", "720p 9:16": "720:1280"}, tuple(range(2, 11))
    ),
    "veo3.1": RunwayModel("Veo 3.1 (via Runway)", _VEO_RATIOS, (4, 6, 8), audio=True),
    "veo3.1_fast": RunwayModel("Veo 3.1 Fast (via Runway)", _VEO_RATIOS, (4, 6, 8), audio=True),
    "kling2.5_turbo_pro": RunwayModel(
        "Kling 2.5 Turbo Pro (via Runway)",
        {
            "720p 16:9": "1280:720",
            "720p 9:16": "720:1280",
            "720p 1:1": "720:720",
            "1080p 16:9": "1920:1080",
            "1080p 9:16": "1080:1920",
            "1080p 1:1": "1440:1440",
        },
        (5, 10),
    ),
}


def _frame_parts(frames: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    resolutions = tuple(dict.fromkeys(f.split()[0] for f in frames))
    ratios = tuple(dict.fromkeys(f.split()[1] for f in frames))
    return resolutions, ratios


class RunwayProvider(Provider):
    """Runway's API for one configured account. Safe to share between threads."""

    slug = "runway"
    name = NAME
    description = "Runway's video models (Gen-4.5, and Veo and Kling through Runway)."

    def __init__(self) -> None:
        self.markers = Markers("runway")
        # Tasks made again after a bad output, by the first task's id.
        self.chains = Markers("runway-tasks")
        self._clients: dict[tuple[str, str, float], runwayml.RunwayML] = {}

    # --- configuration -----------------------------------------------------------------

    def config(self) -> HostedConfig:
        return load_config(
            RunwayAccount,
            api_key=settings.STUDIO_RUNWAY_API_KEY,
            base_url=settings.STUDIO_RUNWAY_BASE_URL,
            models_csv=settings.STUDIO_RUNWAY_MODELS,
        )

    def model_ids(self) -> tuple[str, ...]:
        wanted = self.config().models
        return tuple(m for m in (wanted or tuple(MODELS)) if m in MODELS)

    def is_available(self) -> bool:
        return bool(self.config().api_key) and bool(self.model_ids())

    def model_label(self, model: str) -> str:
        return MODELS[model].label if model in MODELS else model

    def published_price(self, model: str) -> Price | None:
        return PRICES.get(model)

    def capabilities(self, model: str = "") -> Capabilities:
        models = self.model_ids()
        spec = MODELS.get(model) or MODELS[models[0] if models else "gen4.5"]
        frames = tuple(spec.ratios)
        resolutions, aspect_ratios = _frame_parts(frames)
        return Capabilities(
            resolutions=resolutions,
            aspect_ratios=aspect_ratios,
            min_seconds=min(spec.seconds),
            max_seconds=max(spec.seconds),
            max_variations=1,
            image_input=spec.image_input,
            video_input=spec.image_input,
            audio=spec.audio,
            models=models,
            seconds_choices=spec.seconds,
            frame_choices=frames,
            first_frame=spec.image_input,
        )

    @property
    def client(self) -> runwayml.RunwayML:
        """No SDK retries: a retried POST may be a second, billed task, and a retry sleeps
        in a worker. The pipeline retries instead. One client per configuration."""
        config = self.config()
        timeout = timeout_seconds()
        cache_key = (config.api_key, config.base_url, timeout)
        client = self._clients.get(cache_key)
        if client is None:
            client = runwayml.RunwayML(
                api_key=config.api_key or "none",
                base_url=config.base_url or None,
                max_retries=0,
                timeout=timeout,
            )
            self._clients[cache_key] = client
        return client

    # --- exactly-once submission -------------------------------------------------------

    def find_job(self, key: str, *, taken: JobsTaken = nothing_taken) -> str | None:
        """The task made for this key: none if no create was sent, the saved id if it
        answered. Runway lists no tasks, so a create whose answer was lost fails the job
        with a clear message rather than risk a second, billed task."""
        marker = self.markers.read(key)
        if marker is None:
            return None
        if marker.get("job_id"):
            return str(marker["job_id"])
        raise unknown_outcome(NAME)

    def _create_call(self, request: JobRequest) -> tuple[str, dict[str, Any]]:
        model = request.model or self.model_ids()[0]
        spec = MODELS.get(model)
        if spec is None:
            raise PermanentError(f"Runway has no model {model!r} in Studio.", code="model")
        frame = _studio_frame(request.width, request.height)
        ratio = spec.ratios.get(frame or "")
        if ratio is None:
            raise PermanentError(f"{spec.label} does not make {frame} video.", code="size")
        if request.seconds not in spec.seconds:
            raise PermanentError(
                f"{spec.label} makes no {request.seconds} s clips.", code="seconds"
            )
        kwargs: dict[str, Any] = {
            "model": model,
            "prompt_text": request.prompt,
            "ratio": ratio,
            "duration": request.seconds,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed % 4294967295
        if spec.audio:
            kwargs["audio"] = request.audio
        if request.reference_path is None:
            return "text_to_video", kwargs
        width, height = (int(v) for v in ratio.split(":"))
        image = fit_image_bytes(
            request.reference_path, request.reference_kind, (width, height), fmt="JPEG"
        )
        kwargs["prompt_image"] = "data:image/jpeg;base64," + base64.b64encode(image).decode()
        return "image_to_video", kwargs

    def _send(self, endpoint: str, kwargs: dict[str, Any]) -> str:
        resource = cast(Any, getattr(self.client, endpoint))
        return str(resource.create(**kwargs).id)

    def submit(self, request: JobRequest) -> str:
        """Send one create with no retries; a marker written first lets ``find_job`` tell
        a lost answer from a create never sent."""
        endpoint, kwargs = self._create_call(request)
        marker = {"endpoint": endpoint, "model": kwargs["model"], "sent_at": time.time()}
        self.markers.write(request.key, marker)
        self.markers.prune()
        try:
            task_id = self._send(endpoint, kwargs)
        except runwayml.APIError as exc:
            if _certainly_refused(exc):
                self.markers.forget(request.key)
            raise translate(exc) from exc
        self.markers.write(request.key, {**marker, "job_id": task_id})
        self.chains.write(task_id, {"endpoint": endpoint, "kwargs": kwargs, "tasks": [task_id]})
        return task_id

    # --- polling -----------------------------------------------------------------------

    def _current_task(self, job_id: str) -> tuple[str, dict[str, Any] | None]:
        chain = self.chains.read(job_id)
        if chain is None or not chain.get("tasks"):
            return job_id, chain
        return str(chain["tasks"][-1]), chain

    def _task(self, task_id: str) -> dict[str, Any]:
        try:
            raw = self.client.tasks.with_raw_response.retrieve(task_id)
            data = raw.http_response.json()
        except runwayml.APIError as exc:
            raise translate(exc) from exc
        except ValueError as exc:
            raise TransientError("Runway sent an unreadable answer.", code="bad_json") from exc
        if not isinstance(data, dict):
            raise TransientError("Runway sent an unreadable answer.", code="bad_json")
        return data

    def poll(self, job_id: str) -> JobStatus:
        """One look at the job's current task; a bad output is made again in its place."""
        task_id, chain = self._current_task(job_id)
        if chain is not None and chain.get("resending"):
            # A retry's create was sent and its answer lost: it cannot be looked up.
            error = unknown_outcome(NAME)
            return JobStatus(JobState.FAILED, error_code=error.code, error_message=error.message)
        task = self._task(task_id)
        status = str(task.get("status") or "")
        extra = _cost(task)
        if status in ("PENDING", "THROTTLED", "RUNNING"):
            age = _age(task)
            progress = task.get("progress")
            extra["note"] = THROTTLED_NOTE if status == "THROTTLED" else ""
            return JobStatus(
                JobState.RUNNING if status == "RUNNING" else JobState.QUEUED,
                progress=int(float(progress) * 100) if isinstance(progress, int | float) else 0,
                retry_after=poll_interval(age),
                extra=extra,
            )
        if status == "SUCCEEDED":
            return JobStatus(JobState.COMPLETED, progress=100, extra=extra)
        if status == "CANCELLED":
            return JobStatus(JobState.CANCELED, error_code="canceled", extra=extra)
        if status == "FAILED":
            code = str(task.get("failureCode") or "")
            if code.startswith("SAFETY."):
                return JobStatus(
                    JobState.REJECTED, error_code="safety", error_message=SAFETY_MESSAGE
                )
            if code.startswith("INTERNAL.BAD_OUTPUT") and chain is not None:
                retried = self._make_again(job_id, chain)
                if retried is not None:
                    return retried
            return JobStatus(
                JobState.FAILED,
                error_code="failed",
                error_message=str(task.get("failure") or "Runway could not make this video."),
            )
        return JobStatus(
            JobState.FAILED,
            error_code="unknown_status",
            error_message=f"Runway ended the job as {status!r}.",
        )

    def _make_again(self, job_id: str, chain: dict[str, Any]) -> JobStatus | None:
        """Send the create again after a bad output (None: no retries left, or Runway
        refused the new one). Marked before sending, so a lost answer is never resent."""
        if len(chain["tasks"]) > BAD_OUTPUT_RETRIES:
            return None
        self.chains.write(job_id, {**chain, "resending": True})
        try:
            task_id = self._send(str(chain["endpoint"]), dict(chain["kwargs"]))
        except runwayml.APIError as exc:
            error = translate(exc)
            if _certainly_refused(exc):
                self.chains.write(job_id, chain)
                if error.transient:
                    return JobStatus(JobState.RUNNING, retry_after=error.retry_after or 1.0)
            return JobStatus(JobState.FAILED, error_code=error.code, error_message=error.message)
        self.chains.write(job_id, {**chain, "tasks": [*chain["tasks"], task_id]})
        log.info("runway: task %s made again as %s after a bad output", job_id, task_id)
        return JobStatus(JobState.QUEUED, progress=0, retry_after=poll_interval(0))

    # --- downloads ---------------------------------------------------------------------

    def download(self, job_id: str, dest: Path) -> list[Path]:
        """Stream the task's video; its URLs are read fresh from the task each time, and
        an expired one is read once more before the pipeline retries."""
        task_id, _ = self._current_task(job_id)
        target = dest / "video-0.mp4"
        for attempt in range(2):
            task = self._task(task_id)
            outputs = [str(u) for u in task.get("output") or []]
            videos = [u for u in outputs if ".wav" not in u.split("?")[0]] or outputs
            if task.get("status") != "SUCCEEDED" or not videos:
                raise PermanentError("Runway's task has no video to save.", code="no_output")
            try:
                stream_url(videos[0], target, provider_name=NAME)
            except OutputGone as gone:
                log.info("runway: output of %s answered %s (try %d)", task_id, gone, attempt)
                continue
            return [target]
        raise TransientError("Runway's video link had expired; it will be read again.")

    def cancel(self, job_id: str) -> None:
        """``tasks.delete`` the current task (Runway refunds nothing once it runs)."""
        task_id, _ = self._current_task(job_id)
        try:
            self.client.tasks.delete(task_id)
        except runwayml.NotFoundError:
            return
        except runwayml.APIError as exc:
            raise translate(exc) from exc


def _studio_frame(width: int, height: int) -> str | None:
    from media.frames import ASPECT_RATIOS, RESOLUTIONS, frame_size

    for resolution in RESOLUTIONS:
        for ratio in ASPECT_RATIOS:
            if frame_size(resolution, ratio) == (width, height):
                return f"{resolution} {ratio}"
    return None


def _age(task: dict[str, Any]) -> float:
    try:
        created = datetime.fromisoformat(str(task["createdAt"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return max(0.0, time.time() - created.timestamp())


def _cost(task: dict[str, Any]) -> dict[str, object]:
    """Runway's cost for the task in US dollars: the final cost once the task has ended,
    else its estimate."""
    for field, final in (("cost", True), ("estimatedCost", False)):
        value = task.get(field)
        if isinstance(value, dict) and isinstance(value.get("credits"), int | float):
            credits = float(value["credits"])
            return {
                "cost": round(credits * USD_PER_CREDIT, 4),
                "currency": "USD",
                "cost_final": final,
            }
    return {}


def _certainly_refused(exc: runwayml.APIError) -> bool:
    """Whether Runway certainly made no task: a 4xx answer, or no connection at all."""
    if isinstance(exc, runwayml.APIStatusError):
        return exc.status_code in REFUSED_STATUSES
    return never_sent(exc)


def translate(exc: runwayml.APIError) -> ProviderError:
    """Sort an SDK error: safety refusals, transient (timeouts, connections, 429, 5xx) or
    permanent (with Runway's message)."""
    if isinstance(exc, runwayml.APITimeoutError):
        return TransientError("Runway did not answer in time.", code="timeout")
    if isinstance(exc, runwayml.APIConnectionError):
        return TransientError("Runway could not be reached.", code="connection")
    if not isinstance(exc, runwayml.APIStatusError):
        return PermanentError(f"Runway sent an unreadable answer: {exc}")
    body = exc.body if isinstance(exc.body, dict) else {}
    message = str(body.get("error") or body.get("message") or "").strip()
    if "SAFETY" in str(body.get("code") or "") or "SAFETY" in message:
        return ModerationError(SAFETY_MESSAGE, code="safety")
    return status_error(NAME, exc.status_code, message, exc.response.headers)
