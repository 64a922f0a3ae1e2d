"""Finishing a video and serving it: the invisible watermark, the visible one where the
owner's plan needs it, Content Credentials signed into every file we serve, the poster;
and the one rule that picks which file a viewer gets.

The master (``Video.file``) carries the invisible watermark and credentials but no visible
mark; it reaches only owners whose plan has watermark-free downloads. Every other owner gets
``Video.delivery`` (visible + invisible + credentials), made at finishing or, after a change
of plan, on first request.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from accounts.plans import account_get_for_user
from core import storage
from core.dispatch import enqueue
from generations.models import Generation, Video
from media.probe import file_sha256, probe_video
from media.provenance import (
    ALGORITHMIC_SOURCE_TYPE,
    DIGITAL_SOURCE_TYPE,
    Claim,
    SigningIdentity,
    load_or_create_identity,
    prompt_hash,
    read_credentials,
    sign_file,
)
from media.stills import extract_poster
from media.watermark import make_renditions
from providers.registry import UnknownProvider, get_provider

log = logging.getLogger(__name__)

MAKE_DELIVERY_TASK = "delivery.tasks.make_delivery"
MASTER_NAME = "master.mp4"
DELIVERY_NAME = "delivery.mp4"
# A request for a watermarked copy within this long of the last one sends no new task.
DELIVERY_REQUEST_SECONDS = 600


class DeliveryPending(Exception):
    """The watermarked copy this viewer must get is still being made."""


@cache
def signing_identity() -> SigningIdentity:
    """The studio's C2PA identity (made on first use, then read from STUDIO_C2PA_DIR)."""
    return load_or_create_identity(
        Path(settings.STUDIO_C2PA_DIR),
        cert_path=settings.STUDIO_C2PA_CERT,
        key_path=settings.STUDIO_C2PA_KEY,
    )


def studio_version() -> str:
    try:
        return version("studio")
    except PackageNotFoundError:
        return "dev"


def _assign_watermark_id(video: Video) -> int:
    """A random 32-bit payload no other Video carries (retried on the rare collision)."""
    if video.watermark_id is not None:
        return video.watermark_id
    for _ in range(10):
        candidate = secrets.randbits(32)
        try:
            with transaction.atomic():
                Video.objects.filter(pk=video.pk, watermark_id__isnull=True).update(
                    watermark_id=candidate
                )
        except IntegrityError:
            continue  # another Video has this payload: draw again
        # Ours, or the one a concurrent finisher set first.
        current = Video.objects.values_list("watermark_id", flat=True).get(pk=video.pk)
        if current is not None:
            video.watermark_id = current
            return current
    raise RuntimeError("could not find a free watermark id")


def _parent_video(generation: Generation) -> Video | None:
    """The video an edit starts from: the remixed/extended one, else the parent's first."""
    if generation.source_video_id:
        return generation.source_video
    if generation.parent is not None:
        return generation.parent.videos.order_by("index").first()
    return None


def _claim(video: Video, parent_path: Path | None, parent_title: str = "") -> Claim:
    generation = video.generation
    try:
        provider = get_provider(generation.provider)
        provider_name, is_ai = provider.name, provider.is_ai
    except UnknownProvider:
        provider_name, is_ai = generation.provider, True
    return Claim(
        title=f"Studio video {video.pk}.mp4",
        software="Studio",
        software_version=studio_version(),
        provider=provider_name,
        model=generation.model,
        prompt_sha256=prompt_hash(generation.prompt),
        prompt=generation.prompt if generation.prompt_in_credentials else None,
        parent=parent_path,
        parent_title=parent_title
        or (f"Studio video {parent_path.parent.name}.mp4" if parent_path else ""),
        extra={"video_id": str(video.pk), "operation": generation.operation},
        # The offline renderer draws title cards; calling them AI-made would be a lie.
        source_type=DIGITAL_SOURCE_TYPE if is_ai else ALGORITHMIC_SOURCE_TYPE,
        description=""
        if generation.operation == Generation.Operation.CREATE
        else generation.get_operation_display(),
    )


@contextmanager
def _claim_for(video: Video) -> Iterator[Claim]:
    """The video's claim; for an edit, with a local copy of the parent file as ingredient:
    the parent video's served file, or the upload (an imported file) it was made from."""
    parent = _parent_video(video.generation)
    parent_file = (parent.delivery or parent.file) if parent else None
    title = ""
    if not parent_file and (asset := video.generation.parent_asset) is not None:
        parent_file, title = asset.file, asset.original_name
    if not parent_file:
        yield _claim(video, None)
        return
    with storage.local_copy(parent_file) as parent_path:
        yield _claim(video, parent_path, title)


def video_finish(video: Video) -> None:
    """Watermark, sign, poster and probe one downloaded video (its ``file`` is still the
    provider's output). Safe to run again: a video already finished is left alone.
    Raises MediaError for a file that cannot be read, ProvenanceError when signing fails."""
    if video.watermark != Video.Watermark.NONE:
        return
    plan = account_get_for_user(video.owner).plan
    payload = _assign_watermark_id(video)
    identity = signing_identity()
    with tempfile.TemporaryDirectory(prefix="studio-finish-") as tmp_name:
        tmp = Path(tmp_name)
        with storage.local_copy(video.file) as source:
            probe_video(source)  # refuse a broken download before spending work on it
            marked_master = tmp / "master-marked.mp4"
            marked_delivery = None if plan.watermark_free else tmp / "delivery-marked.mp4"
            make_renditions(source, payload=payload, master=marked_master, delivery=marked_delivery)
        with _claim_for(video) as claim:
            sign_file(marked_master, tmp / MASTER_NAME, claim, identity)
            if marked_delivery:
                sign_file(marked_delivery, tmp / DELIVERY_NAME, claim, identity)
        master, delivery = tmp / MASTER_NAME, tmp / DELIVERY_NAME
        served = delivery if marked_delivery else master
        extract_poster(served, tmp / "poster.jpg")
        probe = probe_video(served)  # the file panel describes what the owner gets
        credentials = {"master": read_credentials(master, identity=identity).as_dict()}
        if marked_delivery:
            credentials["delivery"] = read_credentials(delivery, identity=identity).as_dict()
        old = [(f, f.name) for f in (video.file, video.poster, video.delivery) if f.name]
        storage.save(video.file, master, MASTER_NAME)
        if marked_delivery:
            storage.save(video.delivery, delivery, DELIVERY_NAME)
        storage.save(video.poster, tmp / "poster.jpg", "poster.jpg")
        video.sha256 = file_sha256(served)
        video.watermark = (
            Video.Watermark.INVISIBLE if plan.watermark_free else (Video.Watermark.VISIBLE)
        )
        video.credentials = credentials
        video.codec = probe.codec
        video.width = probe.width
        video.height = probe.height
        video.fps = probe.fps
        video.duration = probe.duration
        video.frames = probe.frames
        video.size_bytes = probe.size_bytes
        video.probe = probe.as_dict()
        video.save()
    keep = {video.file.name, video.delivery.name, video.poster.name}
    for field_file, name in old:
        if name not in keep:
            storage.delete_name(field_file, name)


def video_make_delivery(video: Video) -> None:
    """Make the watermarked copy of a finished video whose owner's plan now needs one (the
    plan changed after it was finished). From the master: no other copy is needed."""
    if video.delivery or not video.file:
        return
    identity = signing_identity()
    with tempfile.TemporaryDirectory(prefix="studio-delivery-") as tmp_name:
        tmp = Path(tmp_name)
        with storage.local_copy(video.file) as master:
            make_renditions(
                master,
                payload=_assign_watermark_id(video),
                master=None,
                delivery=tmp / "delivery-marked.mp4",
            )
        with _claim_for(video) as claim:
            sign_file(tmp / "delivery-marked.mp4", tmp / DELIVERY_NAME, claim, identity)
        credentials = {
            **video.credentials,
            "delivery": read_credentials(tmp / DELIVERY_NAME, identity=identity).as_dict(),
        }
        extract_poster(tmp / DELIVERY_NAME, tmp / "poster.jpg")
        old_poster = video.poster.name
        storage.save(video.delivery, tmp / DELIVERY_NAME, DELIVERY_NAME)
        storage.save(video.poster, tmp / "poster.jpg", "poster.jpg")
        won = Video.objects.filter(pk=video.pk, delivery="").update(
            delivery=video.delivery.name,
            poster=video.poster.name,
            watermark=Video.Watermark.VISIBLE,
            credentials=credentials,
            # The file panel describes what the owner now gets.
            sha256=file_sha256(tmp / DELIVERY_NAME),
            size_bytes=(tmp / DELIVERY_NAME).stat().st_size,
        )
        if not won:  # another task made it first: keep its files, drop ours
            storage.delete(video.delivery)
            storage.delete(video.poster)
            return
        if old_poster != video.poster.name:
            storage.delete_name(video.poster, old_poster or "")


def served_file(video: Video) -> FieldFile:
    """The file this video's owner may have: the master on a watermark-free plan, else the
    watermarked copy. Raises DeliveryPending while the video is unfinished, or when the
    owner's plan needs a watermarked copy that does not exist yet (a worker is then asked to
    make it); never falls back to the master."""
    if video.watermark == Video.Watermark.NONE:
        if video.generation.state == Generation.State.SUCCEEDED:
            _request_delivery(video)  # finished before finishing signed files: do it now
        raise DeliveryPending()
    if account_get_for_user(video.owner).plan.watermark_free:
        return video.file
    if video.delivery:
        return video.delivery
    _request_delivery(video)
    raise DeliveryPending()


def _request_delivery(video: Video) -> None:
    """Ask a worker for the missing copy, once: requests in parallel (or again within
    DELIVERY_REQUEST_SECONDS, while one is being made) send no second task."""
    now = timezone.now()
    window = now - timedelta(seconds=DELIVERY_REQUEST_SECONDS)
    asked = (
        Video.objects.filter(pk=video.pk, delivery="")
        .filter(Q(delivery_requested_at__isnull=True) | Q(delivery_requested_at__lt=window))
        .update(delivery_requested_at=now)
    )
    if asked:
        enqueue(MAKE_DELIVERY_TASK, str(video.pk))


def video_prepare(video: Video) -> None:
    """What the make_delivery task runs: finish a video that never was, else make its
    watermarked copy."""
    if video.watermark == Video.Watermark.NONE:
        if video.generation.state == Generation.State.SUCCEEDED:
            video_finish(video)
        return
    video_make_delivery(video)
