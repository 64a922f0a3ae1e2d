"""The built-in offline renderer: a provider that needs no key and no GPU.

It is a preview renderer, not an AI model: it draws the prompt as an animated title over
moving colour fields seeded by the prompt (and over the reference image when there is one)
and encodes real H.264. It behaves like a remote service so that it runs through exactly the
pipeline the other providers use: ``submit`` writes a job folder and hands the render to the
``media`` queue; ``poll`` reads the job's status file; ``download`` hands over the files.

A job folder under ``STUDIO_WORK_DIR/offline/<job id>/`` holds ``spec.json``, ``status.json``
(state, progress, heartbeat), an optional ``cancel`` flag and the rendered ``video-N.mp4``.
The job id is derived from the idempotency key, so a repeated submission finds the same job.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from core.dispatch import enqueue
from media import MediaError
from media.render import RenderCanceled, render_title_card
from media.stills import extract_poster
from providers.base import (
    Capabilities,
    JobRequest,
    JobsTaken,
    JobState,
    JobStatus,
    PermanentError,
    Provider,
    job_updated,
    nothing_taken,
)

log = logging.getLogger(__name__)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


class OfflineProvider(Provider):
    slug = "offline"
    name = "Offline preview renderer"
    description = (
        "Built in, no key, no GPU. Draws your prompt as an animated title card: a preview "
        "renderer, not an AI model."
    )
    is_ai = False
    results_are_local = True

    def capabilities(self, model: str = "") -> Capabilities:
        return Capabilities(
            max_seconds=20,
            max_variations=4,
            image_input=True,
            video_input=True,
            models=("title-card",),
        )

    @property
    def root(self) -> Path:
        return Path(settings.STUDIO_WORK_DIR) / "offline"

    def job_dir(self, job_id: str) -> Path:
        if not job_id.startswith("offline-") or "/" in job_id or ".." in job_id:
            raise PermanentError("Unknown offline job.", code="not_found")
        return self.root / job_id

    def find_job(self, key: str, *, taken: JobsTaken = nothing_taken) -> str | None:
        job_id = f"offline-{key}"
        return job_id if (self.job_dir(job_id) / "spec.json").exists() else None

    def submit(self, request: JobRequest) -> str:
        """Write the job folder (once per key) and enqueue its render on the media queue."""
        job_id = f"offline-{request.key}"
        folder = self.job_dir(job_id)
        if (folder / "spec.json").exists():
            return job_id
        folder.mkdir(parents=True, exist_ok=True)
        reference = None
        if request.reference_path:
            reference = str(folder / "reference")
            shutil.copyfile(request.reference_path, reference)
        spec = {
            "prompt": request.prompt,
            "width": request.width,
            "height": request.height,
            "seconds": request.seconds,
            "fps": request.fps,
            "variations": request.variations,
            "seed": request.seed or 0,
            "reference": reference,
            "reference_kind": request.reference_kind,
        }
        _write_json(folder / "status.json", {"state": "queued", "heartbeat": time.time()})
        _write_json(folder / "spec.json", spec)
        self._enqueue(job_id)
        return job_id

    def _enqueue(self, job_id: str) -> None:
        enqueue("providers.offline.tasks.render_offline_job", job_id)

    def poll(self, job_id: str) -> JobStatus:
        folder = self.job_dir(job_id)
        status = _read_json(folder / "status.json")
        if status is None or not (folder / "spec.json").exists():
            raise PermanentError("The render job was lost.", code="not_found")
        state = status["state"]
        if state == "completed":
            return JobStatus(JobState.COMPLETED, progress=100)
        if state == "failed":
            return JobStatus(JobState.FAILED, error_message=status.get("error", "Render failed."))
        if state == "canceled":
            return JobStatus(JobState.CANCELED)
        # A render whose worker died stops beating; start it again (rendering is ours and
        # free to repeat, so this is not a duplicate submission).
        if time.time() - status.get("heartbeat", 0) > settings.STUDIO_JOB_STALL_SECONDS:
            log.warning("offline job %s stalled; rendering it again", job_id)
            _write_json(folder / "status.json", {**status, "heartbeat": time.time()})
            self._enqueue(job_id)
        job_state = JobState.RUNNING if state == "running" else JobState.QUEUED
        return JobStatus(job_state, progress=int(status.get("progress", 0)), retry_after=0.5)

    def download(self, job_id: str, dest: Path) -> list[Path]:
        folder = self.job_dir(job_id)
        spec = _read_json(folder / "spec.json") or {}
        files = [folder / f"video-{i}.mp4" for i in range(spec.get("variations", 1))]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise PermanentError("The rendered files are missing.", code="not_found")
        out = []
        for f in files:
            target = dest / f.name
            shutil.copyfile(f, target)
            out.append(target)
        return out

    def cancel(self, job_id: str) -> None:
        folder = self.job_dir(job_id)
        if folder.exists():
            (folder / "cancel").touch()

    def release(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def run(self, job_id: str) -> None:
        """Render every variation of a job, then say so (``job_updated``: the pipeline looks
        at once instead of at its next poll). Idempotent: a completed job is left alone."""
        self._render(job_id)
        job_updated.send(sender=OfflineProvider, provider=self.slug, job_id=job_id)

    def _render(self, job_id: str) -> None:
        folder = self.job_dir(job_id)
        spec = _read_json(folder / "spec.json")
        status = _read_json(folder / "status.json") or {}
        if spec is None or status.get("state") in {"completed", "failed", "canceled"}:
            return
        variations = spec["variations"]
        last_beat = 0.0

        def beat(fraction: float, i: int) -> None:
            nonlocal last_beat
            now = time.time()
            if now - last_beat < 0.25 and fraction < 1:
                return
            last_beat = now
            progress = int(100 * (i + fraction) / variations)
            _write_json(
                folder / "status.json",
                {"state": "running", "progress": progress, "heartbeat": now},
            )

        cancel_flag = folder / "cancel"
        beat(0, 0)
        try:
            backdrop = self._backdrop(folder, spec)
            for i in range(variations):
                render_title_card(
                    out_path=folder / f"video-{i}.mp4",
                    prompt=spec["prompt"],
                    width=spec["width"],
                    height=spec["height"],
                    seconds=spec["seconds"],
                    fps=spec["fps"],
                    seed=spec["seed"] + i,
                    reference_image=backdrop,
                    on_progress=functools.partial(beat, i=i),
                    should_cancel=cancel_flag.exists,
                )
        except RenderCanceled:
            _write_json(folder / "status.json", {"state": "canceled", "heartbeat": time.time()})
            return
        except (MediaError, OSError, ValueError) as exc:
            log.exception("offline job %s failed", job_id)
            _write_json(
                folder / "status.json",
                {"state": "failed", "error": f"The renderer failed: {exc}", "heartbeat": 0},
            )
            return
        _write_json(
            folder / "status.json",
            {"state": "completed", "progress": 100, "heartbeat": time.time()},
        )

    def _backdrop(self, folder: Path, spec: dict[str, Any]) -> Path | None:
        if not spec.get("reference"):
            return None
        if spec.get("reference_kind") == "video":
            still = folder / "reference-still.jpg"
            if not still.exists():
                extract_poster(spec["reference"], still, at_fraction=0.0)
            return still
        return Path(spec["reference"])
