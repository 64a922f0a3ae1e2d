"""Delivery's writes: the pipeline's last step (finish every video of a generation and mark
it succeeded) and Verify (read any uploaded file's credentials and watermark)."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from core import metrics
from delivery.finishing import signing_identity, video_finish
from generations.models import Generation, Video
from generations.services.transitions import generation_end, generation_transition
from generations.states import State
from media import MediaError
from media.probe import frame_pixels
from media.provenance import ProvenanceError, read_credentials
from media.watermark import WatermarkReading, read_watermark

log = logging.getLogger(__name__)


def generation_finish(generation_id: UUID | str) -> None:
    """Finish each video (watermarks, Content Credentials, poster, probe: see
    ``delivery.finishing``) and mark the generation succeeded. Safe to run twice."""
    generation = Generation.objects.get(pk=generation_id)
    if generation.state != State.FINISHING:
        return
    videos = list(generation.videos.select_related("generation", "owner"))
    started = time.monotonic()
    try:
        for video in videos:
            video_finish(video)
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
    metrics.observe("finishing_seconds", time.monotonic() - started, provider=generation.provider)
    generation_transition(
        generation.pk,
        from_state=State.FINISHING,
        to_state=State.SUCCEEDED,
        message="done",
        progress=100,
    )


@dataclass(frozen=True)
class VerifyReport:
    """What the Verify page says about one file."""

    name: str
    credentials: dict[str, Any]
    watermark: WatermarkReading | None
    video: Video | None  # the Video the watermark names, only when the viewer owns it
    names_other_video: bool  # the watermark names a Video of this studio the viewer may not see


def _check_pixels(path: Path) -> None:
    """Refuse an image or video whose frames are over STUDIO_UPLOAD_MAX_PIXELS, from its
    header, before anything decodes a pixel of it (a 140 KB PNG can hold 144 megapixels)."""
    limit = settings.STUDIO_UPLOAD_MAX_PIXELS
    if frame_pixels(path) > limit:
        megapixels = f"{limit / 1e6:.1f}".removesuffix(".0")
        raise ValidationError(f"Images and videos up to {megapixels} megapixels can be checked.")


def file_verify(*, upload: UploadedFile[bytes], viewer: User) -> VerifyReport:
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
        _check_pixels(path)
        credentials = read_credentials(path, identity=signing_identity())
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
