"""The built-in offline renderer: a provider that needs no key and no GPU.

It is a preview renderer, not an AI model: it draws the prompt as an animated title over
moving colour fields seeded by the prompt (and over the reference image when there is one)
and encodes real H.264. It behaves like a remote service so that it runs through exactly the
pipeline the other providers use: ``submit`` writes a job folder and hands the render to the
``media`` queue; ``poll`` reads the job's status file; ``download`` hands over the files.

A job folder under ``STUDIO_WORK_DIR/offline/<job id>/`` holds ``spec.json``, ``status.json``
(state, progress) and the rendered ``video-N.mp4``. Who renders a job, and whether Cancel
was pressed, is its ``RenderLease`` in the database: one render at a time holds it and
refreshes its beat, so the stall check starts another copy only once the holder is gone, and
Cancel reaches a render on any machine within a fraction of a second. The job id is derived
from the idempotency key, so a repeated submission finds the same job.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core import shutdown
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
from providers.offline.models import RenderLease

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


# A render refreshes its lease and looks for Cancel this often (seconds).
LEASE_BEAT_SECONDS = 0.25


class LeaseLost(Exception):
    """Another worker took this render's lease: this copy stops and writes nothing."""


class _Lease:
    """The lease one render holds: taken once, beaten while it renders, read for Cancel."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:120]
        self.last = 0.0
        self.cancel = False

    def take(self) -> bool:
        """Hold the lease unless a live render holds it (its beat is fresh)."""
        now = timezone.now()
        RenderLease.objects.get_or_create(job_id=self.job_id, defaults={"beat_at": now})
        stale = now - timedelta(seconds=settings.STUDIO_JOB_STALL_SECONDS)
        taken = (
            RenderLease.objects.filter(job_id=self.job_id)
            .filter(Q(holder="") | Q(beat_at__lt=stale))
            .update(holder=self.holder, beat_at=now)
        )
        self.last = time.monotonic()
        # A job canceled before its render started stops at the first frame.
        self.cancel = RenderLease.objects.filter(job_id=self.job_id, cancel_requested=True).exists()
        return bool(taken)

    def beat(self, *, force: bool = False) -> None:
        """Refresh the lease (at most every LEASE_BEAT_SECONDS unless ``force``) and read
        Cancel. Raises LeaseLost when the stall check gave the job to another worker."""
        if not force and time.monotonic() - self.last < LEASE_BEAT_SECONDS:
            return
        self.last = time.monotonic()
        held = RenderLease.objects.filter(job_id=self.job_id, holder=self.holder)
        if not held.update(beat_at=timezone.now()):
            raise LeaseLost()
        self.cancel = held.filter(cancel_requested=True).exists()

    def canceled(self) -> bool:
        shutdown.check()  # a stopping worker requeues the render (studio.celery)
        self.beat()
        return self.cancel

    def give_back(self) -> None:
        """Free the lease at once (the worker is stopping): the requeued render takes it
        without waiting out the stall check."""
        RenderLease.objects.filter(job_id=self.job_id, holder=self.holder).update(holder="")


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
        _write_json(folder / "status.json", {"state": "queued"})
        RenderLease.objects.update_or_create(
            job_id=job_id, defaults={"holder": "", "beat_at": timezone.now()}
        )
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
        self._restart_if_stalled(job_id)
        job_state = JobState.RUNNING if state == "running" else JobState.QUEUED
        return JobStatus(job_state, progress=int(status.get("progress", 0)), retry_after=0.5)

    def _restart_if_stalled(self, job_id: str) -> None:
        """A render whose worker died (or whose message was lost) stops beating its lease;
        free the lease and send the render again (rendering is ours and free to repeat, so
        this is no duplicate submission). A render that still beats is left alone."""
        now = timezone.now()
        stale = now - timedelta(seconds=settings.STUDIO_JOB_STALL_SECONDS)
        lease, _ = RenderLease.objects.get_or_create(job_id=job_id, defaults={"beat_at": now})
        if lease.beat_at >= stale:
            return
        # One poller wins; the old holder, should it wake, finds its lease gone and stops.
        freed = RenderLease.objects.filter(job_id=job_id, beat_at=lease.beat_at).update(
            holder="", beat_at=now
        )
        if freed:
            log.warning("offline job %s stalled; rendering it again", job_id)
            self._enqueue(job_id)

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
        """Tell the render to stop: it reads its lease every LEASE_BEAT_SECONDS."""
        RenderLease.objects.filter(job_id=self.job_dir(job_id).name).update(cancel_requested=True)

    def release(self, job_id: str) -> None:
        RenderLease.objects.filter(job_id=self.job_dir(job_id).name).delete()
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def run(self, job_id: str) -> None:
        """Render every variation of a job, then say so (``job_updated``: the pipeline looks
        at once instead of at its next poll). Idempotent: a completed job is left alone, and
        a job whose lease a live render holds is left to it."""
        self._render(job_id)
        job_updated.send(sender=OfflineProvider, provider=self.slug, job_id=job_id)

    def _render(self, job_id: str) -> None:
        folder = self.job_dir(job_id)
        spec = _read_json(folder / "spec.json")
        status = _read_json(folder / "status.json") or {}
        if spec is None or status.get("state") in {"completed", "failed", "canceled"}:
            return
        lease = _Lease(job_id)
        if not lease.take():
            log.info("offline job %s is being rendered by another worker", job_id)
            return
        variations = spec["variations"]

        def beat(fraction: float, i: int) -> None:
            lease.beat(force=fraction >= 1)
            progress = int(100 * (i + fraction) / variations)
            _write_json(folder / "status.json", {"state": "running", "progress": progress})

        try:
            beat(0, 0)
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
                    should_cancel=lease.canceled,
                )
            lease.beat(force=True)
        except LeaseLost:
            log.warning("offline job %s: another worker took the render over", job_id)
            return
        except shutdown.WorkerStopping:
            lease.give_back()
            log.info("offline job %s: the worker is stopping; the render is requeued", job_id)
            raise
        except RenderCanceled:
            _write_json(folder / "status.json", {"state": "canceled"})
            return
        except (MediaError, OSError, ValueError) as exc:
            log.exception("offline job %s failed", job_id)
            _write_json(
                folder / "status.json", {"state": "failed", "error": f"The renderer failed: {exc}"}
            )
            return
        _write_json(folder / "status.json", {"state": "completed", "progress": 100})

    def _backdrop(self, folder: Path, spec: dict[str, Any]) -> Path | None:
        if not spec.get("reference"):
            return None
        if spec.get("reference_kind") == "video":
            still = folder / "reference-still.jpg"
            if not still.exists():
                extract_poster(spec["reference"], still, at_fraction=0.0)
            return still
        return Path(spec["reference"])
