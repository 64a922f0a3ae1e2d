"""The pipeline's steps: submit, poll, download (finishing is ``delivery``'s), and the
reaper.

Each step is one short task that takes a generation id, is safe to run twice and does
nothing when it loses a race (see ``transitions``). The provider job id is saved the moment
it comes back; a job found in ``submitting`` without one (a worker died mid-call) is looked
up at the provider before anything is sent again, so a crash never costs a second, billed
job. Polling is one look per task, re-sent with a countdown; never a sleep in a worker.
"""

from __future__ import annotations

import errno
import functools
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import metrics, storage
from generations.models import Asset, Generation, Video
from generations.services.admission import generation_admit_waiting
from generations.services.steps import (
    DOWNLOAD_TASK,
    FINISH_TASK,
    POLL_TASK,
    STEP_TASKS,
    SUBMIT_TASK,
    step_enqueue,
)
from generations.services.transitions import generation_end, generation_log, generation_transition
from generations.states import FINAL_STATES, State
from providers.base import (
    JobRequest,
    JobsTaken,
    JobState,
    JobStatus,
    ModerationError,
    Provider,
    ProviderError,
)
from providers.registry import get_provider

log = logging.getLogger(__name__)

# Progress shown for the steps after the provider's own work.
PROGRESS_SUBMITTING = 2
PROGRESS_RUNNING_SPAN = (5, 85)
PROGRESS_DOWNLOADING = 88
PROGRESS_FINISHING = 94
SUBMIT_CLAIM_SECONDS = 120
MAX_TRANSIENT_RETRIES = 8


def generation_cancel_at_provider(generation: Generation) -> None:
    """Ask the provider to stop the job (best effort: a failure is logged, never raised)."""
    try:
        get_provider(generation.provider).cancel(generation.provider_job_id)
    except ProviderError as exc:
        _count_error(generation, exc, step="cancel")
        log.warning("cancel of %s at provider failed: %s", generation.pk, exc)


def _count_error(generation: Generation, exc: ProviderError, *, step: str) -> None:
    kind = (
        "moderation"
        if isinstance(exc, ModerationError)
        else ("transient" if exc.transient else "permanent")
    )
    metrics.count("provider_errors", provider=generation.provider, kind=kind, step=step)


def _backoff(attempt: int) -> float:
    base = settings.STUDIO_POLL_MIN_SECONDS * (1.5 ** min(attempt, 20))
    ceiling = settings.STUDIO_POLL_MAX_SECONDS
    return min(ceiling, base) * random.uniform(0.8, 1.2)


def _past_deadline(generation: Generation) -> bool:
    return bool(generation.deadline_at and timezone.now() > generation.deadline_at)


def _fail_on_error(generation: Generation, exc: ProviderError, *, step: str) -> None:
    """End the job for a permanent provider error, but only if it is still in ``step``:
    a duplicate task that lost the race must not fail a job another worker moved on."""
    to_state = State.REJECTED if isinstance(exc, ModerationError) else State.FAILED
    generation_transition(
        generation.pk,
        from_state=step,
        to_state=to_state,
        message=exc.message,
        error_code=exc.code or "provider_error",
        error_message=exc.message,
    )


@contextmanager
def _local_reference(asset: Asset | None) -> Iterator[Path | None]:
    if asset is None:
        yield None
        return
    with storage.local_copy(asset.file) as path:
        yield path


def _jobs_taken(provider_slug: str) -> JobsTaken:
    """The callback a provider uses to skip jobs other generations own (see find_job)."""

    def taken(job_ids: Sequence[str]) -> set[str]:
        owned = Generation.objects.filter(provider=provider_slug, provider_job_id__in=job_ids)
        return set(owned.values_list("provider_job_id", flat=True))

    return taken


def generation_submit(generation_id: UUID | str) -> None:
    """Send a queued generation to its provider, exactly once.

    The provider job id is saved the moment it comes back. A generation found in
    ``submitting`` without a job id (a worker died mid-call) is first looked up at the
    provider by its idempotency key, so a crash never sends a second, billed job.
    """
    generation = Generation.objects.select_related("reference", "last_frame").get(pk=generation_id)
    if generation.admitted_at is None:
        return  # still waiting for a concurrent-job slot; admission sends it again
    if generation.state == State.QUEUED:
        generation_transition(
            generation.pk,
            from_state=State.QUEUED,
            to_state=State.SUBMITTING,
            message="submitting",
            progress=PROGRESS_SUBMITTING,
        )
        generation.refresh_from_db()
    if generation.state != State.SUBMITTING:
        return
    now = timezone.now()
    claimed = (
        Generation.objects.filter(pk=generation.pk, state=State.SUBMITTING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=SUBMIT_CLAIM_SECONDS), updated_at=now)
    )
    if not claimed:
        return
    provider = get_provider(generation.provider)
    if not generation.provider_job_id:
        if _past_deadline(generation):
            generation_end(
                generation,
                to_state=State.FAILED,
                code="timeout",
                message="The job could not be submitted before its deadline.",
            )
            return
        key = str(generation.submit_key)
        try:
            job_id = provider.find_job(key, taken=_jobs_taken(provider.slug))
            if job_id is None:
                width, height = generation.size
                with (
                    _local_reference(generation.reference) as reference_path,
                    _local_reference(generation.last_frame) as last_frame_path,
                ):
                    job_id = provider.submit(
                        JobRequest(
                            key=key,
                            prompt=generation.prompt,
                            width=width,
                            height=height,
                            seconds=generation.seconds,
                            fps=generation.fps,
                            variations=generation.variations,
                            seed=generation.seed,
                            model=generation.model,
                            reference_path=reference_path,
                            reference_kind=generation.reference.kind
                            if generation.reference
                            else "",
                            operation=generation.operation,
                            source_job_id=_source_job_id(generation),
                            audio=generation.audio,
                            last_frame_path=last_frame_path,
                            reference_as=generation.reference_as,
                        )
                    )
                generation_log(generation.pk, "submitted", job_id=job_id)
            else:
                generation_log(generation.pk, "found the job made before a crash", job_id=job_id)
        except ProviderError as exc:
            _count_error(generation, exc, step="submit")
            if exc.transient and generation.polls < MAX_TRANSIENT_RETRIES:
                Generation.objects.filter(pk=generation.pk).update(
                    claimed_until=None, polls=generation.polls + 1, updated_at=timezone.now()
                )
                generation_log(generation.pk, f"submit will be retried: {exc.message}")
                step_enqueue(SUBMIT_TASK, generation, exc.retry_after or _backoff(generation.polls))
                return
            _fail_on_error(generation, exc, step=State.SUBMITTING)
            return
        Generation.objects.filter(pk=generation.pk, provider_job_id="").update(
            provider_job_id=job_id, updated_at=timezone.now()
        )
    with transaction.atomic():
        moved = generation_transition(
            generation.pk,
            from_state=State.SUBMITTING,
            to_state=State.RUNNING,
            message="running",
            started_at=timezone.now(),
            claimed_until=None,
            polls=0,
            progress=PROGRESS_RUNNING_SPAN[0],
        )
        if moved:
            step_enqueue(POLL_TASK, generation, settings.STUDIO_POLL_MIN_SECONDS / 2)


def _source_job_id(generation: Generation) -> str:
    """The provider's job id for the video a remix or an extension starts from."""
    if generation.source_video is None:
        return ""
    return generation.source_video.generation.provider_job_id


def _save_extras(*, video_of: Generation, provider: Provider, folder: Path) -> None:
    """Store the provider's extra files (thumbnail, spritesheet) on the first Video."""
    extras = provider.download_extras(video_of.provider_job_id, folder)
    if not extras:
        return
    video = Video.objects.get(generation=video_of, index=0)
    for name, path in extras.items():
        field = getattr(video, name)
        storage.delete(field)
        storage.save(field, path, path.name)
    video.save(update_fields=list(extras))


def generation_poll(generation_id: UUID | str, *, reschedule: bool = True) -> float | None:
    """Look at a running job once. Schedules the next look (returns its countdown) or moves
    the job on: to downloading when done, to an ending when the provider says so or the
    deadline passed. ``reschedule=False`` (a webhook's extra look) schedules nothing: the
    job's own chain of looks goes on."""
    generation = Generation.objects.get(pk=generation_id)
    if generation.state != State.RUNNING:
        return None
    if _past_deadline(generation):
        if generation_end(
            generation,
            to_state=State.FAILED,
            code="timeout",
            message="The job took longer than its deadline allows.",
        ):
            transaction.on_commit(lambda: generation_cancel_at_provider(generation))
        return None
    provider = get_provider(generation.provider)
    try:
        status = provider.poll(generation.provider_job_id)
    except ProviderError as exc:
        _count_error(generation, exc, step="poll")
        if not exc.transient:
            _fail_on_error(generation, exc, step=State.RUNNING)
            return None
        countdown = exc.retry_after or _backoff(generation.polls)
        if not reschedule:
            return None
        Generation.objects.filter(pk=generation.pk, state=State.RUNNING).update(
            polls=generation.polls + 1, updated_at=timezone.now()
        )
        step_enqueue(POLL_TASK, generation, countdown)
        return countdown
    if status.warning and not generation.events.filter(message=status.warning).exists():
        generation_log(generation.pk, status.warning)
    _record_cost(generation, status)
    if status.state == JobState.COMPLETED:
        if generation_transition(
            generation.pk,
            from_state=State.RUNNING,
            to_state=State.DOWNLOADING,
            message="saving the result",
            progress=PROGRESS_DOWNLOADING,
            polls=0,  # the download's retries are counted afresh
        ):
            if provider.results_are_local:
                generation_download(generation.pk)  # a local copy: no hop through the broker
            else:
                step_enqueue(DOWNLOAD_TASK, generation)
        return None
    if status.state in (JobState.FAILED, JobState.REJECTED, JobState.CANCELED):
        to_state = {
            JobState.FAILED: State.FAILED,
            JobState.REJECTED: State.REJECTED,
            JobState.CANCELED: State.CANCELED,
        }[status.state]
        message = (
            status.error_message
            or {
                State.FAILED: "The provider could not make this video.",
                State.REJECTED: "The provider's content policy refused this prompt.",
                State.CANCELED: "The provider canceled the job.",
            }[to_state]
        )
        generation_end(
            generation,
            to_state=to_state,
            code=status.error_code or status.state.value,
            message=message,
        )
        return None
    low, high = PROGRESS_RUNNING_SPAN
    progress = low + (high - low) * (status.progress or 0) // 100
    countdown = status.retry_after if status.retry_after is not None else _backoff(generation.polls)
    updated = Generation.objects.filter(pk=generation.pk, state=State.RUNNING).update(
        polls=generation.polls + reschedule,
        progress=max(progress, generation.progress),
        provider_note=str(status.extra.get("note") or "")[:200],
        updated_at=timezone.now(),
    )
    if updated and reschedule:
        step_enqueue(POLL_TASK, generation, countdown)
    return countdown


def _record_cost(generation: Generation, status: JobStatus) -> None:
    """Keep the provider's own final cost for the job, where it reports one."""
    cost = status.extra.get("cost")
    if status.extra.get("cost_final") and isinstance(cost, int | float | str):
        Generation.objects.filter(pk=generation.pk).update(
            cost_actual=Decimal(str(cost)), cost_currency=str(status.extra.get("currency") or "")
        )


def _storing_failed(generation: Generation, exc: OSError) -> None:
    """Our own storage refused the files (the disk is full, say): try again with backoff,
    as for a provider's passing error, then fail the job saying why. Nothing half-saved
    stays (core.storage.save)."""
    log.warning("storing the videos of %s failed: %s", generation.pk, exc)
    if generation.polls < MAX_TRANSIENT_RETRIES:
        Generation.objects.filter(pk=generation.pk).update(
            polls=generation.polls + 1, updated_at=timezone.now()
        )
        step_enqueue(DOWNLOAD_TASK, generation, _backoff(generation.polls))
        return
    full = exc.errno == errno.ENOSPC
    message = (
        "Studio's storage is full: the video could not be saved."
        if full
        else f"Studio could not save the video: {exc.strerror or exc}."
    )
    Video.objects.filter(generation=generation, file="").delete()  # rows of unsaved files
    generation_transition(
        generation.pk,
        from_state=State.DOWNLOADING,
        to_state=State.FAILED,
        message=message,
        error_code="storage_full" if full else "storage_error",
        error_message=message,
    )


def downloads_root() -> Path:
    """Where downloads are staged: the work folder, not the system's temporary one, so the
    files of a worker killed mid-download are found again (here and by the orphan sweep)."""
    return Path(settings.STUDIO_WORK_DIR) / "downloads"


def _downloads(generation: Generation) -> Path:
    """The staging folder, without what an earlier attempt at this job left there when its
    worker died (older than the stall limit: a live attempt moves the job sooner)."""
    root = downloads_root()
    root.mkdir(parents=True, exist_ok=True)
    stale = time.time() - settings.STUDIO_JOB_STALL_SECONDS
    for leftover in root.glob(f"{generation.pk}-*"):
        if leftover.stat().st_mtime < stale:
            shutil.rmtree(leftover, ignore_errors=True)
    return root


def generation_download(generation_id: UUID | str) -> None:
    """Copy a finished job's files into our storage, one Video per variation (again-safe:
    an existing Video's file is replaced, never duplicated)."""
    generation = Generation.objects.get(pk=generation_id)
    if generation.state != State.DOWNLOADING:
        return
    provider = get_provider(generation.provider)
    with tempfile.TemporaryDirectory(dir=_downloads(generation), prefix=f"{generation.pk}-") as tmp:
        try:
            files = provider.download(generation.provider_job_id, Path(tmp))
        except ProviderError as exc:
            _count_error(generation, exc, step="download")
            if exc.transient and generation.polls < MAX_TRANSIENT_RETRIES:
                Generation.objects.filter(pk=generation.pk).update(
                    polls=generation.polls + 1, updated_at=timezone.now()
                )
                step_enqueue(
                    DOWNLOAD_TASK, generation, exc.retry_after or _backoff(generation.polls)
                )
                return
            _fail_on_error(generation, exc, step=State.DOWNLOADING)
            return
        try:
            for index, path in enumerate(files):
                video, _ = Video.objects.get_or_create(
                    generation=generation, index=index, defaults={"owner_id": generation.owner_id}
                )
                storage.delete(video.file)
                storage.save(video.file, path, "video.mp4")
                video.save()
            if files:
                _save_extras(video_of=generation, provider=provider, folder=Path(tmp))
        except OSError as exc:
            _storing_failed(generation, exc)
            return
    with transaction.atomic():
        moved = generation_transition(
            generation.pk,
            from_state=State.DOWNLOADING,
            to_state=State.FINISHING,
            message=f"saved {len(files)} video(s)",
            progress=PROGRESS_FINISHING,
        )
        if moved:
            step_enqueue(FINISH_TASK, generation)
    if moved:
        provider.release(generation.provider_job_id)


def generation_reap() -> dict[str, int]:
    """Fail jobs past their deadline, hand stalled jobs (no movement for
    STUDIO_JOB_STALL_SECONDS, e.g. their worker was killed) to a worker again, and admit
    waiting jobs whose slot came free without a message getting through."""
    now = timezone.now()
    counts = {"timed_out": 0, "resumed": 0}
    active = Generation.objects.exclude(state__in=FINAL_STATES).exclude(state=State.DRAFT)
    for generation in active.filter(deadline_at__lt=now):
        if generation_end(
            generation,
            to_state=State.FAILED,
            code="timeout",
            message="The job took longer than its deadline allows.",
        ):
            counts["timed_out"] += 1
            if generation.provider_job_id:
                transaction.on_commit(functools.partial(generation_cancel_at_provider, generation))
    stalled_before = now - timedelta(seconds=settings.STUDIO_JOB_STALL_SECONDS)
    waiting = active.filter(state=State.QUEUED, admitted_at__isnull=True)
    for owner_id, team_id in sorted(
        set(waiting.values_list("owner_id", "team_id")), key=lambda pair: (pair[1] or 0, pair[0])
    ):
        counts["resumed"] += generation_admit_waiting(owner_id, team_id)
    for generation in active.filter(updated_at__lt=stalled_before, admitted_at__isnull=False):
        touched = Generation.objects.filter(
            pk=generation.pk, state=generation.state, updated_at=generation.updated_at
        ).update(updated_at=now, claimed_until=None)
        if touched:
            generation_log(generation.pk, f"resumed a stalled job in {generation.state}")
            step_enqueue(STEP_TASKS[generation.state], generation)
            counts["resumed"] += 1
    return counts


def generation_poll_for_job(*, provider: str, job_id: str, **signal: Any) -> None:
    """Answer ``providers.base.job_updated`` (a webhook said "look now"): one extra look at
    the running generation of that provider job, if there is one. The job's own chain of
    looks goes on."""
    generation = Generation.objects.filter(
        provider=provider, provider_job_id=job_id, state=State.RUNNING
    ).first()
    if generation is not None:
        generation_poll(generation.pk, reschedule=False)
