"""Services: everything that changes Generations, Assets and Videos.

Views, tasks, admin actions and the management command call these; nothing else writes
the models. Every state change goes through ``generation_transition``: one conditional
UPDATE that must touch exactly one row, plus its GenerationEvent, in one transaction.
The pipeline steps (``generation_submit``, ``generation_poll``, ``generation_download``,
``generation_finish``) are each safe to run twice and do nothing when they lose a race.
"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from generations import finishing, plans
from generations.media import MediaError
from generations.media.probe import probe_upload
from generations.media.provenance import ProvenanceError, read_credentials
from generations.media.stills import make_thumbnail, video_thumbnail
from generations.media.watermark import WatermarkReading, read_watermark
from generations.models import (
    ASPECT_RATIOS,
    MAX_SECONDS,
    RESOLUTIONS,
    Account,
    Asset,
    Generation,
    GenerationEvent,
    Video,
)
from generations.providers.base import JobRequest, JobState, ModerationError, ProviderError
from generations.providers.registry import UnknownProvider, get_provider
from generations.states import FINAL_STATES, State, can_move

log = logging.getLogger(__name__)

# Progress shown for the steps after the provider's own work.
PROGRESS_SUBMITTING = 2
PROGRESS_RUNNING_SPAN = (5, 85)
PROGRESS_DOWNLOADING = 88
PROGRESS_FINISHING = 94
SUBMIT_CLAIM_SECONDS = 120
MAX_TRANSIENT_RETRIES = 8


class IllegalTransition(ValueError):
    pass


# --- state machine ----------------------------------------------------------------------


def generation_transition(
    generation_id: Any,
    *,
    from_state: str,
    to_state: str,
    message: str = "",
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move a generation from ``from_state`` to ``to_state`` if it is still there.

    One conditional UPDATE; returns False (and writes nothing) when another worker moved
    the row first. Raises IllegalTransition for a move the state machine does not allow.
    """
    if not can_move(from_state, to_state):
        raise IllegalTransition(f"{from_state} → {to_state} is not allowed")
    now = timezone.now()
    if to_state in FINAL_STATES:
        fields.setdefault("finished_at", now)
        fields.setdefault("claimed_until", None)
    with transaction.atomic():
        moved = Generation.objects.filter(pk=generation_id, state=from_state).update(
            state=to_state, updated_at=now, **fields
        )
        if moved != 1:
            return False
        GenerationEvent.objects.create(
            generation_id=generation_id,
            from_state=from_state,
            to_state=to_state,
            message=message,
            data=data or {},
        )
        if to_state in FINAL_STATES:
            # The job's concurrent-job slot is free: the owner's next waiting job may go.
            owner_id = Generation.objects.values_list("owner_id", flat=True).get(pk=generation_id)
            transaction.on_commit(lambda: generations_admit(owner_id))
    return True


def generation_end(
    generation: Generation, *, to_state: str, code: str = "", message: str = ""
) -> bool:
    """Move a generation to a final state from wherever it is now (retrying on races)."""
    for _ in range(5):
        generation.refresh_from_db(fields=["state"])
        if generation.state in FINAL_STATES or not can_move(generation.state, to_state):
            return False
        if generation_transition(
            generation.pk,
            from_state=generation.state,
            to_state=to_state,
            message=message,
            error_code=code,
            error_message=message if to_state != State.CANCELED else "",
        ):
            return True
    return False


def _log(generation_id: Any, message: str, **data: Any) -> None:
    GenerationEvent.objects.create(generation_id=generation_id, message=message, data=data)


def _enqueue(task_name: str, generation: Generation, countdown: float = 0) -> None:
    """Send a pipeline task for this generation once the current transaction commits."""
    from generations import tasks

    task = getattr(tasks, task_name)
    queue = "media" if task_name == "finish_generation" else generation.queue
    args = (str(generation.pk),)
    transaction.on_commit(
        lambda: task.apply_async(args, queue=queue, countdown=max(0.0, countdown))
    )


# --- assets -----------------------------------------------------------------------------


def asset_create(*, owner: Any, upload: UploadedFile) -> Asset:
    """Probe an upload by its content and store it with a thumbnail.

    Raises ValidationError with a plain message for anything that is not a supported,
    intact image or video within the limits; nothing is left behind in that case.
    """
    with tempfile.TemporaryDirectory(prefix="studio-upload-") as tmp:
        path = Path(tmp) / "upload"
        with path.open("wb") as f:
            for chunk in upload.chunks():
                f.write(chunk)
        try:
            info = probe_upload(
                path,
                max_bytes=settings.STUDIO_UPLOAD_MAX_BYTES,
                max_pixels=settings.STUDIO_UPLOAD_MAX_PIXELS,
                max_video_seconds=settings.STUDIO_UPLOAD_MAX_SECONDS,
            )
            thumb = Path(tmp) / "thumb.jpg"
            if info.kind == "image":
                make_thumbnail(path, thumb)
            else:
                video_thumbnail(path, thumb)
        except MediaError as exc:
            raise ValidationError(str(exc), code="bad_media") from exc
        asset = Asset(
            owner=owner,
            kind=info.kind,
            original_name=(upload.name or "upload")[:255],
            mime=info.mime,
            extension=info.extension,
            width=info.width,
            height=info.height,
            duration=info.duration,
            size_bytes=info.size_bytes,
            sha256=info.sha256,
        )
        saved: list[FieldFile] = []
        try:
            with transaction.atomic():
                with path.open("rb") as f:
                    asset.file.save(f"original.{info.extension}", File(f), save=False)
                saved.append(asset.file)
                with thumb.open("rb") as f:
                    asset.thumbnail.save("thumb.jpg", File(f), save=False)
                saved.append(asset.thumbnail)
                asset.save()
        except BaseException:
            for field_file in saved:
                field_file.delete(save=False)
            raise
    return asset


@dataclass(frozen=True)
class VerifyReport:
    """What the Verify page says about one file."""

    name: str
    credentials: dict[str, Any]
    watermark: WatermarkReading | None
    video: Video | None  # the Video the watermark names, only when the viewer owns it
    names_other_video: bool  # the watermark names a Video of this studio the viewer may not see


def media_verify(*, upload: UploadedFile, viewer: Any) -> VerifyReport:
    """Read an uploaded file's Content Credentials and invisible watermark; nothing is kept.
    Raises ValidationError for a file over the upload limit."""
    if upload.size and upload.size > settings.STUDIO_UPLOAD_MAX_BYTES:
        limit = settings.STUDIO_UPLOAD_MAX_BYTES // (1024 * 1024)
        raise ValidationError(f"Files up to {limit} MB can be checked.")
    with tempfile.TemporaryDirectory(prefix="studio-verify-") as tmp:
        path = Path(tmp) / "upload"
        with path.open("wb") as f:
            for chunk in upload.chunks():
                f.write(chunk)
        credentials = read_credentials(path, identity=finishing.signing_identity())
        try:
            reading: WatermarkReading | None = read_watermark(path)
        except MediaError:
            reading = None
    video = None
    if reading is not None and reading.found:
        video = Video.objects.filter(watermark_id=reading.payload).first()
    mine = video if video is not None and video.owner_id == viewer.pk else None
    return VerifyReport(
        name=(upload.name or "upload")[:255],
        credentials=credentials.as_dict(),
        watermark=reading,
        video=mine,
        names_other_video=video is not None and mine is None,
    )


def asset_delete(*, asset: Asset) -> None:
    files = [asset.file, asset.thumbnail]
    asset.delete()
    for f in files:
        if f:
            f.delete(save=False)


# --- creating and steering generations --------------------------------------------------


def generation_create(
    *,
    owner: Any,
    prompt: str,
    resolution: str = "720p",
    aspect_ratio: str = "16:9",
    seconds: int = 5,
    variations: int = 1,
    priority: bool = False,
    provider: str | None = None,
    model: str = "",
    seed: int | None = None,
    reference: Asset | None = None,
    parent: Generation | None = None,
    **extra: Any,
) -> Generation:
    """Validate the settings against the provider and the owner's plan, save the generation
    as queued and, when the plan has a free concurrent-job slot, send it to the workers once
    the transaction commits (otherwise it waits in the queue for one). A priority request
    with no priority generations left this month runs on the standard queue. ``extra`` sets
    further Generation fields (operation, source_video, prompt_in_credentials). Raises
    ValidationError with plain messages keyed by form field."""
    provider = provider or settings.STUDIO_DEFAULT_PROVIDER
    try:
        adapter = get_provider(provider)
    except UnknownProvider as exc:
        raise ValidationError({"provider": str(exc)}) from exc
    caps = adapter.capabilities(model)
    errors: dict[str, str] = {}
    prompt = prompt.strip()
    if not prompt:
        errors["prompt"] = "Write a prompt."
    elif len(prompt) > settings.STUDIO_PROMPT_MAX_CHARS:
        errors["prompt"] = f"Prompts are limited to {settings.STUDIO_PROMPT_MAX_CHARS} characters."
    if resolution not in RESOLUTIONS or resolution not in caps.resolutions:
        errors["resolution"] = f"{adapter.name} does not make {resolution} video."
    if aspect_ratio not in ASPECT_RATIOS or aspect_ratio not in caps.aspect_ratios:
        errors["aspect_ratio"] = f"{adapter.name} does not make {aspect_ratio} video."
    max_seconds = min(caps.max_seconds, MAX_SECONDS)
    if not caps.min_seconds <= seconds <= max_seconds:
        errors["seconds"] = f"Duration must be {caps.min_seconds}–{max_seconds} seconds."
    if variations not in (1, 2, 4) or variations > caps.max_variations:
        errors["variations"] = f"{adapter.name} makes up to {caps.max_variations} variations."
    if model and model not in caps.models:
        errors["provider"] = f"{adapter.name} has no model {model!r} available now."
    if reference is not None:
        if reference.owner_id != owner.pk:
            errors["reference"] = "That reference does not exist."
        elif reference.kind == Asset.Kind.IMAGE and not caps.image_input:
            errors["reference"] = f"{adapter.name} does not take a reference image."
        elif reference.kind == Asset.Kind.VIDEO and not caps.video_input:
            errors["reference"] = f"{adapter.name} does not take a reference clip."
    refused = caps.refusal(resolution=resolution, aspect_ratio=aspect_ratio, seconds=seconds)
    for name, message in refused.items():
        errors.setdefault(name, message)
    plan = plans.account_for(owner).plan
    model = model or (caps.models[0] if caps.models else "")
    for name, message in plans.plan_errors(
        plan,
        resolution=resolution,
        seconds=seconds,
        variations=variations,
        provider=provider,
        model=model,
    ).items():
        errors.setdefault(name, message)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        # Held until commit: the priority count and the admission below cannot race.
        account = plans.lock_account(owner.pk)
        downgraded = False
        limit = account.plan.priority_per_month
        if priority and limit is not None and plans.priority_used(owner.pk, now) >= limit:
            priority, downgraded = False, True
        generation = Generation.objects.create(
            owner=owner,
            parent=parent,
            prompt=prompt,
            resolution=resolution,
            aspect_ratio=aspect_ratio,
            seconds=seconds,
            variations=variations,
            priority=priority,
            provider=provider,
            model=model,
            seed=seed if seed is not None else random.randrange(2**31),
            reference=reference,
            **extra,
        )
        generation_transition(
            generation.pk,
            from_state=State.DRAFT,
            to_state=State.QUEUED,
            message="queued on the standard queue: no priority generations left this month"
            if downgraded
            else "queued",
            queued_at=now,
        )
        _admit_locked(account, created=generation.pk)
        generation.refresh_from_db()
    return generation


def generations_admit(owner_id: Any) -> int:
    """Send the owner's waiting jobs to the workers while their plan has free concurrent-job
    slots (priority jobs first, then oldest). Returns how many were admitted."""
    with transaction.atomic():
        return _admit_locked(plans.lock_account(owner_id))


def _admit_locked(account: Account, created: Any = None) -> int:
    now = timezone.now()
    running = (
        Generation.objects.filter(owner_id=account.user_id, admitted_at__isnull=False)
        .exclude(state__in=FINAL_STATES)
        .count()
    )
    free = account.plan.concurrent_jobs - running
    if free <= 0:
        return 0
    waiting = Generation.objects.filter(
        owner_id=account.user_id, state=State.QUEUED, admitted_at__isnull=True
    ).order_by("-priority", "queued_at")[:free]
    admitted = 0
    for generation in waiting:
        Generation.objects.filter(pk=generation.pk).update(
            admitted_at=now,
            deadline_at=now + timedelta(seconds=settings.STUDIO_JOB_DEADLINE_SECONDS),
            updated_at=now,
        )
        if generation.pk != created:
            _log(generation.pk, "a concurrent-job slot came free: sent to the workers")
        _enqueue("submit_generation", generation)
        admitted += 1
    return admitted


def generation_cancel(*, generation: Generation, by: Any = None) -> bool:
    """Cancel a job that has not ended; tells the provider to stop. Returns False if it had
    already ended."""
    who = getattr(by, "username", "") or "system"
    if not generation_end(generation, to_state=State.CANCELED, message=f"canceled by {who}"):
        return False
    if generation.provider_job_id:
        transaction.on_commit(lambda: _cancel_at_provider(generation))
    return True


def _cancel_at_provider(generation: Generation) -> None:
    try:
        get_provider(generation.provider).cancel(generation.provider_job_id)
    except ProviderError as exc:
        log.warning("cancel of %s at provider failed: %s", generation.pk, exc)


def generation_retry(*, generation: Generation, by: Any = None) -> Generation:
    """Run an ended generation again as a new generation (final states have no exits)."""
    return generation_create(
        owner=generation.owner,
        prompt=generation.prompt,
        resolution=generation.resolution,
        aspect_ratio=generation.aspect_ratio,
        seconds=generation.seconds,
        variations=generation.variations,
        priority=generation.priority,
        provider=generation.provider,
        model=generation.model,
        seed=generation.seed,
        reference=generation.reference,
        parent=generation,
    )


def generation_derive(
    *, video: Video, operation: str, prompt: str, seconds: int | None = None
) -> Generation:
    """Remix or extend a finished video on the provider that made it, as a new generation
    (its ``source_video``). ``seconds`` is an extension's added length. Raises
    ValidationError when the provider cannot do that to this video."""
    source = video.generation
    try:
        caps = get_provider(source.provider).capabilities(source.model)
    except UnknownProvider as exc:
        raise ValidationError({"prompt": str(exc)}) from exc
    able = {"remix": caps.remix, "extend": caps.extend}
    if not able.get(operation) or not source.provider_job_id:
        raise ValidationError({"prompt": f"This video's model cannot {operation} it."})
    return generation_create(
        owner=source.owner,
        prompt=prompt,
        resolution=source.resolution,
        aspect_ratio=source.aspect_ratio,
        seconds=seconds or source.seconds,
        provider=source.provider,
        model=source.model,
        parent=source,
        operation=operation,
        source_video=video,
    )


def video_delete(*, video: Video) -> None:
    files = [video.file, video.delivery, video.poster, video.thumbnail, video.spritesheet]
    video.delete()
    for f in files:
        if f:
            f.delete(save=False)


# --- the pipeline -------------------------------------------------------------------------


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
def _local_reference(generation: Generation) -> Iterator[Path | None]:
    if generation.reference is None:
        yield None
        return
    with local_copy(generation.reference.file) as path:
        yield path


@contextmanager
def local_copy(field_file: FieldFile) -> Iterator[Path]:
    """A local path for a stored file: the file itself on local storage, else a temp copy."""
    try:
        yield Path(field_file.path)
        return
    except NotImplementedError:
        pass
    with tempfile.TemporaryDirectory(prefix="studio-") as tmp:
        path = Path(tmp) / Path(field_file.name).name
        with field_file.open("rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        yield path


def generation_submit(generation_id: Any) -> None:
    """Send a queued generation to its provider, exactly once.

    The provider job id is saved the moment it comes back. A generation found in
    ``submitting`` without a job id (a worker died mid-call) is first looked up at the
    provider by its idempotency key, so a crash never sends a second, billed job.
    """
    generation = Generation.objects.select_related("reference").get(pk=generation_id)
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
            job_id = provider.find_job(key)
            if job_id is None:
                width, height = generation.size
                with _local_reference(generation) as reference_path:
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
                        )
                    )
                _log(generation.pk, "submitted", job_id=job_id)
            else:
                _log(generation.pk, "found the job made before a crash", job_id=job_id)
        except ProviderError as exc:
            if exc.transient and generation.polls < MAX_TRANSIENT_RETRIES:
                Generation.objects.filter(pk=generation.pk).update(
                    claimed_until=None, polls=generation.polls + 1, updated_at=timezone.now()
                )
                _log(generation.pk, f"submit will be retried: {exc.message}")
                _enqueue(
                    "submit_generation", generation, exc.retry_after or _backoff(generation.polls)
                )
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
            _enqueue("poll_generation", generation, settings.STUDIO_POLL_MIN_SECONDS / 2)


def _source_job_id(generation: Generation) -> str:
    """The provider's job id for the video a remix or an extension starts from."""
    if generation.source_video is None:
        return ""
    return generation.source_video.generation.provider_job_id


def _save_extras(*, video_of: Generation, provider: Any, folder: Path) -> None:
    """Store the provider's extra files (thumbnail, spritesheet) on the first Video."""
    extras = provider.download_extras(video_of.provider_job_id, folder)
    if not extras:
        return
    video = Video.objects.get(generation=video_of, index=0)
    for name, path in extras.items():
        field = getattr(video, name)
        if field:
            field.delete(save=False)
        with path.open("rb") as f:
            field.save(path.name, File(f), save=False)
    video.save(update_fields=list(extras))


def generation_poll(generation_id: Any, *, reschedule: bool = True) -> float | None:
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
            transaction.on_commit(lambda: _cancel_at_provider(generation))
        return None
    provider = get_provider(generation.provider)
    try:
        status = provider.poll(generation.provider_job_id)
    except ProviderError as exc:
        if not exc.transient:
            _fail_on_error(generation, exc, step=State.RUNNING)
            return None
        countdown = exc.retry_after or _backoff(generation.polls)
        if not reschedule:
            return None
        Generation.objects.filter(pk=generation.pk, state=State.RUNNING).update(
            polls=generation.polls + 1, updated_at=timezone.now()
        )
        _enqueue("poll_generation", generation, countdown)
        return countdown
    if status.state == JobState.COMPLETED:
        if generation_transition(
            generation.pk,
            from_state=State.RUNNING,
            to_state=State.DOWNLOADING,
            message="saving the result",
            progress=PROGRESS_DOWNLOADING,
            polls=0,  # the download's retries are counted afresh
        ):
            _enqueue("download_generation", generation)
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
        updated_at=timezone.now(),
    )
    if updated and reschedule:
        _enqueue("poll_generation", generation, countdown)
    return countdown


def generation_download(generation_id: Any) -> None:
    """Copy a finished job's files into our storage, one Video per variation (again-safe:
    an existing Video's file is replaced, never duplicated)."""
    generation = Generation.objects.get(pk=generation_id)
    if generation.state != State.DOWNLOADING:
        return
    provider = get_provider(generation.provider)
    with tempfile.TemporaryDirectory(prefix="studio-download-") as tmp:
        try:
            files = provider.download(generation.provider_job_id, Path(tmp))
        except ProviderError as exc:
            if exc.transient and generation.polls < MAX_TRANSIENT_RETRIES:
                Generation.objects.filter(pk=generation.pk).update(
                    polls=generation.polls + 1, updated_at=timezone.now()
                )
                _enqueue(
                    "download_generation", generation, exc.retry_after or _backoff(generation.polls)
                )
                return
            _fail_on_error(generation, exc, step=State.DOWNLOADING)
            return
        for index, path in enumerate(files):
            video, _ = Video.objects.get_or_create(
                generation=generation, index=index, defaults={"owner_id": generation.owner_id}
            )
            if video.file:
                video.file.delete(save=False)
            with path.open("rb") as f:
                video.file.save("video.mp4", File(f), save=True)
        if files:
            _save_extras(video_of=generation, provider=provider, folder=Path(tmp))
    with transaction.atomic():
        moved = generation_transition(
            generation.pk,
            from_state=State.DOWNLOADING,
            to_state=State.FINISHING,
            message=f"saved {len(files)} video(s)",
            progress=PROGRESS_FINISHING,
        )
        if moved:
            _enqueue("finish_generation", generation)
    if moved:
        provider.release(generation.provider_job_id)


def generation_finish(generation_id: Any) -> None:
    """Finish each video (watermarks, Content Credentials, poster, probe: see
    ``generations.finishing``) and mark the generation succeeded."""
    generation = Generation.objects.get(pk=generation_id)
    if generation.state != State.FINISHING:
        return
    videos = list(generation.videos.select_related("generation", "owner"))
    try:
        for video in videos:
            finishing.finish_video(video)
    except ProvenanceError as exc:
        log.exception("signing %s failed", generation.pk)
        generation_end(
            generation,
            to_state=State.FAILED,
            code="signing_failed",
            message=f"The video could not be signed with Content Credentials: {exc}",
        )
        return
    except MediaError as exc:
        generation_end(
            generation,
            to_state=State.FAILED,
            code="bad_output",
            message=f"The result could not be read: {exc}",
        )
        return
    except Exception:
        # A bug here would otherwise fail every retry until the deadline; the downloaded
        # files stay in storage for the operators.
        log.exception("finishing %s failed", generation.pk)
        generation_end(
            generation,
            to_state=State.FAILED,
            code="finishing_failed",
            message="The video was made but could not be finished. The operators have the details.",
        )
        return
    generation_transition(
        generation.pk,
        from_state=State.FINISHING,
        to_state=State.SUCCEEDED,
        message="done",
        progress=100,
    )


STEP_TASKS = {
    State.QUEUED: "submit_generation",
    State.SUBMITTING: "submit_generation",
    State.RUNNING: "poll_generation",
    State.DOWNLOADING: "download_generation",
    State.FINISHING: "finish_generation",
}


def generations_reap() -> dict[str, int]:
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
                transaction.on_commit(lambda g=generation: _cancel_at_provider(g))
    stalled_before = now - timedelta(seconds=settings.STUDIO_JOB_STALL_SECONDS)
    waiting = active.filter(state=State.QUEUED, admitted_at__isnull=True)
    for owner_id in set(waiting.values_list("owner_id", flat=True)):
        counts["resumed"] += generations_admit(owner_id)
    for generation in active.filter(updated_at__lt=stalled_before, admitted_at__isnull=False):
        touched = Generation.objects.filter(
            pk=generation.pk, state=generation.state, updated_at=generation.updated_at
        ).update(updated_at=now, claimed_until=None)
        if touched:
            _log(generation.pk, f"resumed a stalled job in {generation.state}")
            _enqueue(STEP_TASKS[generation.state], generation)
            counts["resumed"] += 1
    return counts
