"""Open-weights video models on our own GPUs: jobs for the diffusion worker on queue ``gpu``.

The worker (``workers/diffusion/``, its own Python with torch) needs no Django. Studio
talks to it only through Celery and Redis, by name, and never imports torch:

* submit: ``send_task("studio.diffusion.generate", [spec], queue="gpu", task_id=...)``; the
  task id is derived from the generation's idempotency key. The first frame travels inline
  in the spec. On object storage the spec carries a presigned PUT link for the result, so a
  GPU machine shares no disk and holds no credentials; on local storage (the embedded,
  one-machine default) it names the path of the same storage name in ``MEDIA_ROOT``. Either
  way the download reads ``work/diffusion/<job id>.mp4`` from Studio's storage;
* poll: the task's state and PROGRESS meta in Celery's result backend;
* cancel: the Redis key ``studio:diffusion:cancel:<task id>``, checked at every step;
* capabilities: what the workers announce under ``studio:diffusion:workers:*`` (presets,
  sizes, lengths, image input). With no worker announced the provider is hidden.
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from celery import current_app
from celery.result import AsyncResult
from django.conf import settings
from django.core.files.storage import default_storage

from core.objectstore import StudioS3Storage
from media.frames import ASPECT_RATIOS, RESOLUTIONS, frame_size
from media.stills import extract_poster
from providers.base import (
    Capabilities,
    JobRequest,
    JobsTaken,
    JobState,
    JobStatus,
    PermanentError,
    Provider,
    TransientError,
    nothing_taken,
)

log = logging.getLogger(__name__)

TASK_NAME = "studio.diffusion.generate"
QUEUE = "gpu"
CANCEL_KEY = "studio:diffusion:cancel:{}"
WORKER_KEYS = "studio:diffusion:workers:*"
ANNOUNCE_CACHE_SECONDS = 5.0
FAILURES = {
    "InvalidJobSpec": "The model cannot make this request: {}",
    "ModelNotAvailable": "The model is not installed on the GPU worker: {}",
}


def _redis_url() -> str | None:
    url = settings.STUDIO_DIFFUSION_REDIS_URL or settings.CELERY_BROKER_URL
    return url if url.startswith(("redis://", "rediss://")) else None


class DiffusersProvider(Provider):
    slug = "diffusers"
    name = "Open-weights models (your GPUs)"
    description = "LTX-Video and Wan on the studio's own GPU workers, through diffusers."

    def __init__(self) -> None:
        self._announced: tuple[float, list[dict[str, Any]]] = (0.0, [])

    # --- what the workers offer -----------------------------------------------------

    def _redis(self) -> redis.Redis:
        url = _redis_url()
        if url is None:
            raise TransientError("The GPU workers need Redis as the broker.")
        return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)

    def presets(self) -> list[dict[str, Any]]:
        """Presets with weights present on at least one announced worker (cached 5 s)."""
        fetched_at, presets = self._announced
        if time.monotonic() - fetched_at < ANNOUNCE_CACHE_SECONDS:
            return presets
        found: dict[str, dict[str, Any]] = {}
        try:
            client = self._redis()
            for key in client.scan_iter(WORKER_KEYS, count=100):
                raw = client.get(key)
                if raw is None:
                    continue
                for preset in json.loads(raw).get("presets", []):
                    if preset.get("available"):
                        found.setdefault(preset["id"], preset)
        except (redis.RedisError, TransientError, ValueError) as exc:
            log.debug("no GPU workers visible: %s", exc)
        presets = list(found.values())
        self._announced = (time.monotonic(), presets)
        return presets

    def is_available(self) -> bool:
        return bool(settings.CELERY_RESULT_BACKEND) and bool(self.presets())

    def capabilities(self, model: str = "") -> Capabilities:
        presets = [p for p in self.presets() if not model or p["id"] == model]
        if not presets:
            return Capabilities(resolutions=(), max_seconds=0, max_variations=0)
        resolutions = tuple(r for r in RESOLUTIONS if any(self._fits(p, r) for p in presets))
        # A worker capped below 480p (a small GPU) still renders it, at its own cap.
        resolutions = resolutions or ("480p",)
        return Capabilities(
            resolutions=resolutions,
            aspect_ratios=tuple(ASPECT_RATIOS),
            min_seconds=1,
            max_seconds=max(int(p["max_seconds"]) for p in presets),
            max_variations=1,
            image_input=any(p["image_to_video"] for p in presets),
            video_input=any(p["image_to_video"] for p in presets),
            models=tuple(p["id"] for p in presets),
        )

    def model_label(self, model: str) -> str:
        labels = {p["id"]: str(p.get("label", p["id"])) for p in self.presets()}
        return labels.get(model, model)

    @staticmethod
    def _fits(preset: dict[str, Any], resolution: str) -> bool:
        width, height = frame_size(resolution, "16:9")
        # The worker floors sizes to its multiple, so allow what snapping takes off.
        return width * height <= float(preset["max_pixels"]) * 1.02

    # --- jobs ------------------------------------------------------------------------

    def _result(self, job_id: str) -> AsyncResult[Any]:
        return AsyncResult(job_id, app=current_app)

    def find_job(self, key: str, *, taken: JobsTaken = nothing_taken) -> str | None:
        job_id = f"diffusion-{key}"
        try:
            state = self._result(job_id).state
        except redis.RedisError as exc:
            raise TransientError("The result backend is unreachable.") from exc
        return None if state == "PENDING" else job_id

    def submit(self, request: JobRequest) -> str:
        """Send the job to the ``gpu`` queue under a task id derived from the key."""
        job_id = f"diffusion-{request.key}"
        spec: dict[str, Any] = {
            "prompt": request.prompt,
            "preset": request.model or None,
            "width": request.width,
            "height": request.height,
            "seconds": request.seconds,
            "seed": request.seed,
            "image_b64": _first_frame_b64(request),
            "job_id": job_id,
        }
        bucket = _bucket()
        if bucket is not None:
            spec["output_put_url"] = bucket.presigned_put(
                _object_name(job_id),
                content_type="video/mp4",
                seconds=int(settings.STUDIO_JOB_DEADLINE_SECONDS) + 3600,
            )
        else:
            output = Path(default_storage.path(_object_name(job_id)))
            output.parent.mkdir(parents=True, exist_ok=True)
            spec["output_path"] = str(output)
        if spec["preset"] is None:
            del spec["preset"]
        try:
            current_app.send_task(TASK_NAME, args=[spec], queue=QUEUE, task_id=job_id)
        except Exception as exc:  # kombu raises many kinds for a broker that is away
            raise TransientError("The GPU queue is unreachable.") from exc
        return job_id

    def poll(self, job_id: str) -> JobStatus:
        result = self._result(job_id)
        try:
            # Wider than celery's literal: the worker reports PROGRESS, Celery REVOKED.
            state: str = result.state
            info = result.info
        except redis.RedisError as exc:
            raise TransientError("The result backend is unreachable.") from exc
        if state == "PENDING":
            return JobStatus(JobState.QUEUED, progress=0, retry_after=2.0)
        if state in ("STARTED", "PROGRESS", "RETRY"):
            fraction = info.get("progress", 0.0) if isinstance(info, dict) else 0.0
            return JobStatus(JobState.RUNNING, progress=round(100 * fraction), retry_after=1.0)
        if state == "SUCCESS":
            return JobStatus(JobState.COMPLETED, progress=100)
        if state == "REVOKED":
            return JobStatus(JobState.CANCELED)
        kind = type(info).__name__
        template = FAILURES.get(kind, "The GPU worker failed: {}")
        return JobStatus(JobState.FAILED, error_code=kind, error_message=template.format(info))

    def download(self, job_id: str, dest: Path) -> list[Path]:
        """Copy the worker's result out of storage (it PUT it there, or wrote it at the
        storage path on local storage)."""
        target = dest / "video-0.mp4"
        try:
            with default_storage.open(_object_name(job_id), "rb") as src, target.open("wb") as out:
                shutil.copyfileobj(src, out, 1024 * 1024)
        except FileNotFoundError:
            raise PermanentError("The GPU worker's file is missing.", code="not_found") from None
        return [target]

    def cancel(self, job_id: str) -> None:
        try:
            self._redis().set(CANCEL_KEY.format(job_id), "1", ex=86400)
        except (redis.RedisError, TransientError) as exc:
            log.warning("could not flag %s for cancel: %s", job_id, exc)

    def release(self, job_id: str) -> None:
        default_storage.delete(_object_name(job_id))
        self._result(job_id).forget()


def _bucket() -> StudioS3Storage | None:
    return default_storage if isinstance(default_storage, StudioS3Storage) else None


def _object_name(job_id: str) -> str:
    """Where a GPU worker puts a job's result in the bucket (until the download copies it
    into the video's own folder and ``release`` deletes it)."""
    return f"work/diffusion/{job_id}.mp4"


def _first_frame_b64(request: JobRequest) -> str | None:
    """The reference as an inline PNG/JPEG (a clip's first frame), or None."""
    if request.reference_path is None:
        return None
    if request.reference_kind != "video":
        return base64.b64encode(request.reference_path.read_bytes()).decode()
    with tempfile.TemporaryDirectory(prefix="studio-first-frame-") as tmp:
        frame = Path(tmp) / "first-frame.png"
        extract_poster(request.reference_path, frame, at_fraction=0.0)
        return base64.b64encode(frame.read_bytes()).decode()
