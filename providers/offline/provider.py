"""The built-in offline renderer: a provider that needs no key and no GPU.

It is a preview renderer, not an AI model: it draws the prompt as an animated title over
moving colour fields seeded by the prompt (and over the reference image when there is one)
and encodes real H.264. It behaves like a remote service so that it runs through exactly the
pipeline the other providers use: ``submit`` records the job and hands the render to the
``media`` queue; ``poll`` reads the job's row; ``download`` copies the files out of storage.

No disk is shared between the steps: a job is its ``RenderLease`` row (spec, state,
progress, the names of its stored files) and its files are in Studio's storage under
``work/offline/<job id>/`` (the reference, then the rendered ``video-N.mp4``). A render
works in its own temporary folder on whichever machine takes it and uploads what it made.
One render at a time holds the lease and refreshes its beat, so the stall check starts
another copy only once the holder is gone, and Cancel reaches a render on any machine
within a fraction of a second. The job id is derived from the idempotency key, so a
repeated submission finds the same job.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from core import metrics, shutdown
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

# Where a job's files live in storage until the download copies them into the video's own
# folder and ``release`` deletes them.
STORAGE_ROOT = "work/offline"

# A render refreshes its lease, saves its progress and looks for Cancel this often (s).
LEASE_BEAT_SECONDS = 0.25

Lease = RenderLease.State


class LeaseLost(Exception):
    """Another worker took this render's lease (or the job was released): this copy stops
    and writes nothing."""


class _Lease:
    """The lease one render holds: taken once, beaten while it renders, read for Cancel."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:120]
        self.last = 0.0
        self.cancel = False

    def take(self) -> bool:
        """Hold the lease unless a live render holds it (its beat is fresh) or the job has
        ended or is gone."""
        now = timezone.now()
        stale = now - timedelta(seconds=settings.STUDIO_JOB_STALL_SECONDS)
        taken = (
            RenderLease.objects.filter(job_id=self.job_id, state__in=(Lease.QUEUED, Lease.RUNNING))
            .filter(Q(holder="") | Q(beat_at__lt=stale))
            .update(holder=self.holder, beat_at=now, state=Lease.RUNNING)
        )
        self.last = time.monotonic()
        # A job canceled before its render started stops at the first frame.
        self.cancel = RenderLease.objects.filter(job_id=self.job_id, cancel_requested=True).exists()
        return bool(taken)

    def held(self) -> Any:
        return RenderLease.objects.filter(job_id=self.job_id, holder=self.holder)

    def beat(self, *, force: bool = False, progress: int | None = None) -> None:
        """Refresh the lease and save ``progress`` (at most every LEASE_BEAT_SECONDS unless
        ``force``), and read Cancel. Raises LeaseLost when the stall check gave the job to
        another worker."""
        if not force and time.monotonic() - self.last < LEASE_BEAT_SECONDS:
            return
        self.last = time.monotonic()
        changes: dict[str, Any] = {"beat_at": timezone.now()}
        if progress is not None:
            changes["progress"] = progress
        if not self.held().update(**changes):
            raise LeaseLost()
        self.cancel = self.held().filter(cancel_requested=True).exists()

    def end(self, **changes: Any) -> bool:
        """Record how the render ended, if this copy still holds the lease."""
        return bool(self.held().update(holder="", beat_at=timezone.now(), **changes))

    def canceled(self) -> bool:
        shutdown.check()  # a stopping worker requeues the render (studio.celery)
        self.beat()
        return self.cancel

    def give_back(self) -> None:
        """Free the lease at once (the worker is stopping): the requeued render takes it
        without waiting out the stall check."""
        RenderLease.objects.filter(job_id=self.job_id, holder=self.holder).update(holder="")


# A render that could not be saved because the storage is full (the job's error code
# becomes ``storage_full``, as a download's does).
STORAGE_FULL = "Studio's storage is full: the render could not be saved."


def _checked(job_id: str) -> str:
    if not job_id.startswith("offline-") or "/" in job_id or ".." in job_id:
        raise PermanentError("Unknown offline job.", code="not_found")
    return job_id


def _job(job_id: str) -> RenderLease:
    job = RenderLease.objects.filter(job_id=_checked(job_id)).first()
    if job is None or not job.spec:
        raise PermanentError("The render job was lost.", code="not_found")
    return job


def _store(path: Path, name: str) -> str:
    """Upload a local file to storage; returns the name it was stored under. A save that
    fails part-way (the disk is full) leaves no partial file behind."""
    existed = default_storage.exists(name)
    try:
        with path.open("rb") as f:
            return str(default_storage.save(name, File(f)))
    except Exception:
        metrics.count("storage_errors", operation="save")
        if not existed:
            with contextlib.suppress(Exception):
                default_storage.delete(name)
        raise


@contextmanager
def _scratch(job_id: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"studio-{job_id[:40]}-") as tmp:
        yield Path(tmp)


class OfflineProvider(Provider):
    slug = "offline"
    name = "Offline preview renderer"
    description = (
        "Built in, no key, no GPU. Draws your prompt as an animated title card: a preview "
        "renderer, not an AI model."
    )
    is_ai = False
    # Its download is a copy out of Studio's own storage, no provider call: the worker that
    # sees the job completed downloads at once instead of queueing a step.
    results_are_local = True

    def capabilities(self, model: str = "") -> Capabilities:
        return Capabilities(
            max_seconds=20,
            max_variations=4,
            image_input=True,
            video_input=True,
            models=("title-card",),
        )

    def find_job(self, key: str, *, taken: JobsTaken = nothing_taken) -> str | None:
        job_id = f"offline-{key}"
        return job_id if RenderLease.objects.filter(job_id=_checked(job_id)).exists() else None

    def submit(self, request: JobRequest) -> str:
        """Record the job (once per key: its row is made in one statement, after the
        reference is in storage) and enqueue its render on the media queue."""
        job_id = _checked(f"offline-{request.key}")
        if RenderLease.objects.filter(job_id=job_id).exists():
            return job_id
        reference = ""
        if request.reference_path:
            reference = _store(request.reference_path, f"{STORAGE_ROOT}/{job_id}/reference")
        spec = {
            "prompt": request.prompt,
            "width": request.width,
            "height": request.height,
            "seconds": request.seconds,
            "fps": request.fps,
            "variations": request.variations,
            "seed": request.seed or 0,
            "reference_kind": request.reference_kind,
        }
        _, created = RenderLease.objects.get_or_create(
            job_id=job_id,
            defaults={"spec": spec, "reference": reference, "beat_at": timezone.now()},
        )
        if not created:  # a concurrent submission of the same key won
            if reference:
                default_storage.delete(reference)
            return job_id
        self._enqueue(job_id)
        return job_id

    def _enqueue(self, job_id: str) -> None:
        enqueue("providers.offline.tasks.render_offline_job", job_id)

    def poll(self, job_id: str) -> JobStatus:
        job = _job(job_id)
        if job.state == Lease.COMPLETED:
            return JobStatus(JobState.COMPLETED, progress=100)
        if job.state == Lease.FAILED:
            code = "storage_full" if job.error == STORAGE_FULL else ""
            return JobStatus(
                JobState.FAILED, error_code=code, error_message=job.error or "Render failed."
            )
        if job.state == Lease.CANCELED:
            return JobStatus(JobState.CANCELED)
        self._restart_if_stalled(job)
        job_state = JobState.RUNNING if job.state == Lease.RUNNING else JobState.QUEUED
        return JobStatus(job_state, progress=job.progress, retry_after=0.5)

    def _restart_if_stalled(self, job: RenderLease) -> None:
        """A render whose worker died (or whose message was lost) stops beating its lease;
        free the lease and send the render again (rendering is ours and free to repeat, so
        this is no duplicate submission). A render that still beats is left alone."""
        now = timezone.now()
        stale = now - timedelta(seconds=settings.STUDIO_JOB_STALL_SECONDS)
        if job.beat_at >= stale:
            return
        # One poller wins; the old holder, should it wake, finds its lease gone and stops.
        freed = RenderLease.objects.filter(
            job_id=job.job_id, beat_at=job.beat_at, state__in=(Lease.QUEUED, Lease.RUNNING)
        ).update(holder="", beat_at=now)
        if freed:
            log.warning("offline job %s stalled; rendering it again", job.job_id)
            self._enqueue(job.job_id)

    def download(self, job_id: str, dest: Path) -> list[Path]:
        job = _job(job_id)
        if job.state != Lease.COMPLETED or len(job.outputs) != job.spec.get("variations", 1):
            raise PermanentError("The rendered files are missing.", code="not_found")
        out = []
        for i, name in enumerate(job.outputs):
            target = dest / f"video-{i}.mp4"
            try:
                with default_storage.open(name, "rb") as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
            except FileNotFoundError:
                raise PermanentError("The rendered files are missing.", code="not_found") from None
            out.append(target)
        return out

    def cancel(self, job_id: str) -> None:
        """Tell the render to stop: it reads its lease every LEASE_BEAT_SECONDS."""
        RenderLease.objects.filter(job_id=_checked(job_id)).update(cancel_requested=True)

    def release(self, job_id: str) -> None:
        """Forget the job: its row and every file it has in storage."""
        folder = f"{STORAGE_ROOT}/{_checked(job_id)}"
        job = RenderLease.objects.filter(job_id=job_id).first()
        names = set(job.outputs if job else []) | (
            {job.reference} if job and job.reference else set()
        )
        with suppress(FileNotFoundError):
            names |= {f"{folder}/{f}" for f in default_storage.listdir(folder)[1]}
        for name in sorted(names):
            default_storage.delete(name)
        RenderLease.objects.filter(job_id=job_id).delete()

    def ended_jobs_release(self, *, before: datetime, live: JobsTaken) -> int:
        """Release the jobs no live generation owns whose lease has not moved since
        ``before`` (a job that failed or was canceled keeps its row until then), and the
        stored files of jobs that have no row (a submission that died half way) and are
        older than ``before``. Returns how many jobs went."""
        idle = list(
            RenderLease.objects.filter(beat_at__lt=before)
            .order_by("job_id")
            .values_list("job_id", flat=True)
        )
        owned = live(idle)
        ended = [job_id for job_id in idle if job_id not in owned]
        try:
            folders = default_storage.listdir(STORAGE_ROOT)[0]
        except FileNotFoundError:
            folders = []
        known = set(RenderLease.objects.filter(job_id__in=folders).values_list("job_id", flat=True))
        for folder in sorted(set(folders) - known):
            if folder.startswith("offline-") and _stored_before(f"{STORAGE_ROOT}/{folder}", before):
                ended.append(folder)
        for job_id in ended:
            self.release(job_id)
        return len(ended)

    def run(self, job_id: str) -> None:
        """Render every variation of a job, then say so (``job_updated``: the pipeline looks
        at once instead of at its next poll). Idempotent: an ended job is left alone, and
        a job whose lease a live render holds is left to it."""
        self._render(_checked(job_id))
        job_updated.send(sender=OfflineProvider, provider=self.slug, job_id=job_id)

    def _render(self, job_id: str) -> None:
        lease = _Lease(job_id)
        if not lease.take():
            log.info("offline job %s has ended or is being rendered elsewhere", job_id)
            return
        job = RenderLease.objects.get(job_id=job_id)
        spec, variations = job.spec, job.spec["variations"]

        def beat(fraction: float, i: int) -> None:
            lease.beat(force=fraction >= 1, progress=int(100 * (i + fraction) / variations))

        stored: list[str] = []
        try:
            with _scratch(job_id) as scratch:
                beat(0, 0)
                backdrop = self._backdrop(scratch, job)
                for i in range(variations):
                    out = scratch / f"video-{i}.mp4"
                    render_title_card(
                        out_path=out,
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
                for i in range(variations):
                    lease.beat(force=True)
                    stored.append(
                        _store(scratch / f"video-{i}.mp4", f"{STORAGE_ROOT}/{job_id}/video-{i}.mp4")
                    )
            if not lease.end(state=Lease.COMPLETED, progress=100, outputs=stored):
                raise LeaseLost()
        except LeaseLost:
            log.warning("offline job %s: another worker took the render over", job_id)
            for name in stored:
                default_storage.delete(name)
            return
        except shutdown.WorkerStopping:
            lease.give_back()
            log.info("offline job %s: the worker is stopping; the render is requeued", job_id)
            raise
        except RenderCanceled:
            lease.end(state=Lease.CANCELED)
            return
        except (MediaError, OSError, ValueError) as exc:
            log.exception("offline job %s failed", job_id)
            for name in stored:
                default_storage.delete(name)
            full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
            error = STORAGE_FULL if full else f"The renderer failed: {exc}"
            lease.end(state=Lease.FAILED, error=error[:500])
            return

    def _backdrop(self, scratch: Path, job: RenderLease) -> Path | None:
        """The reference, copied down from storage into this render's scratch folder (a
        clip's first frame for a video reference)."""
        if not job.reference:
            return None
        reference = scratch / "reference"
        with default_storage.open(job.reference, "rb") as src, reference.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        if job.spec.get("reference_kind") != "video":
            return reference
        still = scratch / "reference-still.jpg"
        extract_poster(reference, still, at_fraction=0.0)
        return still


def _stored_before(folder: str, before: datetime) -> bool:
    """Whether every file in a storage folder is older than ``before`` (and there is one)."""
    files = default_storage.listdir(folder)[1]
    try:
        return bool(files) and all(
            default_storage.get_modified_time(f"{folder}/{f}") < before for f in files
        )
    except (FileNotFoundError, NotImplementedError):
        return False
