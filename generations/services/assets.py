"""Assets and videos a creator owns: storing an upload (probed by its content, with a
thumbnail), and deleting an upload or a result video with its files."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.fields.files import FieldFile

from core import storage
from core.uploads import too_large_message
from generations.models import Asset, Video
from media import MediaError
from media.probe import probe_upload
from media.stills import make_thumbnail, video_thumbnail
from policy.checks import PolicyRefused, image_check
from policy.models import Refusal


def asset_create(*, owner: User, upload: UploadedFile[bytes]) -> Asset:
    """Probe an upload by its content and store it with a thumbnail.

    Raises ValidationError with a plain message for anything that is not a supported,
    intact image or video within the limits, or that the content policy refuses (a face,
    when the operator says so); nothing is left behind in that case.
    """
    if upload.size and upload.size > settings.STUDIO_UPLOAD_MAX_BYTES:
        # Refused before it is copied anywhere (the request's handler stops most earlier).
        raise ValidationError(too_large_message(), code="too_large")
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
        try:
            # A video is checked on its thumbnail's frame.
            image_check(
                path if info.kind == "image" else thumb,
                user_id=owner.pk,
                stage=Refusal.Stage.UPLOAD,
                name=(upload.name or "upload")[:255],
            )
        except PolicyRefused as exc:
            raise ValidationError(exc.reason, code="policy") from exc
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


def asset_delete(*, asset: Asset) -> None:
    """Delete an upload and its files. Generations that used it keep their settings."""
    files = [asset.file, asset.thumbnail]
    asset.delete()
    for field_file in files:
        storage.delete(field_file)


def video_delete(*, video: Video) -> None:
    """Delete a result video and every file of it (master, delivery, poster, extras)."""
    files = [video.file, video.delivery, video.poster, video.thumbnail, video.spritesheet]
    video.delete()
    for field_file in files:
        storage.delete(field_file)
