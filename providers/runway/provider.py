"""Runway's video API (text-to-video and image-to-video), through the official ``runwayml``
SDK. Configured in admin (Runway account) or by ``RUNWAYML_API_SECRET``.

The protocol's traps (``shared/specs/providers.md`` §3), and what this adapter does:

* The SDK retries POSTs (2 retries) and Runway takes no idempotency key and lists no tasks,
  so a create whose answer was lost cannot be looked up. Every call runs with
  ``max_retries=0``; a marker is committed before the create (``providers.hosted.markers``), and a
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

from providers.base import (
    Capabilities,
    JobRequest,
    JobState,
    JobStatus,
    ModerationError,
    PermanentError,
    Price,
    ProviderError,
    TransientError,
)
from providers.hosted.config import timeout_seconds
from providers.hosted.http import poll_interval, unknown_outcome
from providers.hosted.markers import Markers
from providers.hosted.provider import (
    HostedModel,
    HostedProvider,
    fit_image_bytes,
    sdk_error,
    sdk_refused,
    studio_frame,
)
from providers.runway.models import RunwayAccount

log = logging.getLogger(__name__)

NAME = "Runway"
BAD_OUTPUT_RETRIES = 2
# Runway bills in credits; one credit is one US cent (its API pricing page).
USD_PER_CREDIT = 0.01
SAFETY_MESSAGE = "Runway's content policy refused this video. Try a different prompt or image."
THROTTLED_NOTE = "Waiting behind your Runway account's concurrency limit."


@dataclass(frozen=True, kw_only=True)
class RunwayModel(HostedModel):
    # Studio's "resolution aspect_ratio" → Runway's "W:H" ratio.
    ratios: dict[str, str]
    image_input: bool = True


def _model(label: str, ratios: dict[str, str], seconds: tuple[int, ...], **kw: Any) -> RunwayModel:
    return RunwayModel(label=label, frames=tuple(ratios), seconds=seconds, ratios=ratios, **kw)


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
    "gen4.5": _model(
        "Gen-4.5", {"720p 16:9": "1280:720", "720p 9:16": "720:1280"}, tuple(range(2, 11))
    ),
    "veo3.1": _model("Veo 3.1 (via Runway)", _VEO_RATIOS, (4, 6, 8), audio=True),
    "veo3.1_fast": _model("Veo 3.1 Fast (via Runway)", _VEO_RATIOS, (4, 6, 8), audio=True),
    "kling2.5_turbo_pro": _model(
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


class RunwayProvider(HostedProvider):
    """Runway's API for one configured account. Safe to share between threads."""

    slug = "runway"
    name = NAME
    description = "Runway's video models (Gen-4.5, and Veo and Kling through Runway)."
    models = MODELS
    prices = PRICES
    account_model = RunwayAccount
    env_prefix = "STUDIO_RUNWAY"

    def __init__(self) -> None:
        super().__init__()
        # Tasks made again after a bad output, by the first task's id.
        self.chains = Markers("runway-tasks")

    def capabilities(self, model: str = "") -> Capabilities:
        spec = cast(RunwayModel, self.spec(model))
        return self.with_capabilities(
            model,
            image_input=spec.image_input,
            video_input=spec.image_input,
            first_frame=spec.image_input,
        )

    @property
    def client(self) -> runwayml.RunwayML:
        """No SDK retries: a retried POST may be a second, billed task, and a retry sleeps
        in a worker. The pipeline retries instead. One client per configuration."""
        config = self.config()
        timeout = timeout_seconds()
        return self.cached_client(
            (config.api_key, config.base_url, timeout),
            lambda: runwayml.RunwayML(
                api_key=config.api_key or "none",
                base_url=config.base_url or None,
                max_retries=0,
                timeout=timeout,
            ),
        )

    # --- exactly-once submission (Runway lists no tasks: ``reconcile`` fails the job) ----

    def _create_call(self, request: JobRequest) -> tuple[str, dict[str, Any]]:
        model, found = self.model_for(request.model)
        spec = cast(RunwayModel, found)
        frame = studio_frame(request.width, request.height)
        ratio = spec.ratios.get(frame)
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
        """Send one create with no retries; the marker committed first lets ``find_job``
        tell a lost answer from a create never sent."""
        endpoint, kwargs = self._create_call(request)
        task_id = self.send_create(
            request.key,
            {"endpoint": endpoint, "model": kwargs["model"]},
            lambda: self._send(endpoint, kwargs),
            errors=(runwayml.APIError,),
            refused=lambda exc: sdk_refused(runwayml, exc),
            translate=translate,
        )
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
            if sdk_refused(runwayml, exc):
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

        def video_url() -> str:
            task = self._task(task_id)
            outputs = [str(u) for u in task.get("output") or []]
            videos = [u for u in outputs if ".wav" not in u.split("?")[0]] or outputs
            if task.get("status") != "SUCCEEDED" or not videos:
                raise PermanentError("Runway's task has no video to save.", code="no_output")
            return videos[0]

        return self.fetch_video(job_id, dest, video_url)

    def cancel(self, job_id: str) -> None:
        """``tasks.delete`` the current task (Runway refunds nothing once it runs)."""
        task_id, _ = self._current_task(job_id)
        try:
            self.client.tasks.delete(task_id)
        except runwayml.NotFoundError:
            return
        except runwayml.APIError as exc:
            raise translate(exc) from exc


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


def _moderation(status: int, body: dict[str, Any], message: str) -> ProviderError | None:
    if "SAFETY" in str(body.get("code") or "") or "SAFETY" in message:
        return ModerationError(SAFETY_MESSAGE, code="safety")
    return None


def translate(exc: runwayml.APIError) -> ProviderError:
    """Sort an SDK error: safety refusals, transient (timeouts, connections, 429, 5xx) or
    permanent (with Runway's message)."""
    return sdk_error(runwayml, exc, NAME, message_keys=("error", "message"), moderation=_moderation)
