"""The orphan sweep: stored files no row names any more (a video's folder left by a crash,
a duplicate copy, a provider's download that finishing replaced) and the offline renderer's
job folders of jobs that have ended. Files younger than a grace period are never touched:
a worker may be between saving a file and saving the row that names it."""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.db.models.signals import post_delete
from django.utils import timezone

from core import storage
from generations.models import Generation, Video
from generations.states import FINAL_STATES
from providers.registry import get_provider

log = logging.getLogger(__name__)

VIDEO_FILE_FIELDS = ("file", "delivery", "poster", "thumbnail", "spritesheet")


def video_files_delete(sender: type[Video], instance: Video, **kwargs: object) -> None:
    """``post_delete`` of a Video, however it was deleted (its generation, its owner, the
    admin): every file it names goes with it."""
    for name in VIDEO_FILE_FIELDS:
        storage.delete(getattr(instance, name))


def connect_signals() -> None:
    post_delete.connect(video_files_delete, sender=Video, dispatch_uid="video_files_delete")


def _old(name: str, before: object) -> bool:
    try:
        return bool(default_storage.get_modified_time(name) < before)  # type: ignore[operator]
    except (FileNotFoundError, NotImplementedError):
        return False


def orphans_sweep(*, older_than: float = 3600.0) -> dict[str, int]:
    """Delete what no row names: files in ``videos/<owner>/<video>/`` of a Video that is
    gone, or of an ended job's Video that none of its fields names; and offline job folders
    whose job has ended or is unknown. Returns how many files and folders went."""
    before = timezone.now() - timedelta(seconds=older_than)
    counts = {"files": 0, "job_folders": 0}
    owners = default_storage.listdir("videos")[0] if default_storage.exists("videos") else []
    for owner in owners:
        for video_id in default_storage.listdir(f"videos/{owner}")[0]:
            folder = f"videos/{owner}/{video_id}"
            video = Video.objects.filter(pk=video_id).select_related("generation").first()
            if video is not None and video.generation.state not in FINAL_STATES:
                continue
            named = (
                {getattr(video, f).name for f in VIDEO_FILE_FIELDS} if video is not None else set()
            )
            for filename in default_storage.listdir(folder)[1]:
                name = f"{folder}/{filename}"
                if name not in named and _old(name, before):
                    default_storage.delete(name)
                    counts["files"] += 1
    counts["job_folders"] = _offline_job_folders_sweep(before) + _downloads_sweep(before)
    if any(counts.values()):
        log.info("orphan sweep: %s", counts)
    return counts


def _offline_job_folders_sweep(before: datetime) -> int:
    """The offline renderer's ended jobs: their rows and stored files (see
    ``OfflineProvider.ended_jobs_release``)."""
    provider = get_provider("offline")
    release = getattr(provider, "ended_jobs_release", None)
    if release is None:
        return 0

    def live(job_ids: Sequence[str]) -> set[str]:
        owned = Generation.objects.filter(provider="offline", provider_job_id__in=job_ids)
        return set(owned.exclude(state__in=FINAL_STATES).values_list("provider_job_id", flat=True))

    return int(release(before=before, live=live))


def _downloads_sweep(before: object) -> int:
    """Staged downloads left by a worker killed mid-download, once their job has ended."""
    from generations.services.pipeline import downloads_root

    root = downloads_root()
    if not root.is_dir():
        return 0
    gone = 0
    for folder in root.iterdir():
        if folder.stat().st_mtime >= before.timestamp():  # type: ignore[attr-defined]
            continue
        generation_id = folder.name.rpartition("-")[0]
        live = Generation.objects.filter(pk=generation_id).exclude(state__in=FINAL_STATES)
        if _is_uuid(generation_id) and live.exists():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        gone += 1
    return gone


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
