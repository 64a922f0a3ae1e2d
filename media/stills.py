"""Stills from media: a video's poster frame and JPEG thumbnails for image and video assets."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image, ImageOps

from media.errors import MediaError
from media.probe import first_video_stream

JPEG_QUALITY = 85
BACKGROUND = (24, 24, 28)  # what transparent pixels become: the gallery's dark tile


def _frame_at(video_path: str | Path, at_fraction: float) -> Image.Image:
    """The first frame at or after ``at_fraction`` of the duration, upright."""
    try:
        with av.open(str(video_path)) as container:
            stream = first_video_stream(container)
            if stream is None:
                raise MediaError("The video has no video track.")
            frame = None
            if at_fraction > 0 and container.duration:
                target = int(container.duration * min(at_fraction, 1.0))
                container.seek(target, any_frame=False)
                start = target / 1_000_000
                for candidate in container.decode(stream):
                    frame = candidate
                    if candidate.time is None or candidate.time >= start - 1e-3:
                        break
            if frame is None:
                container.seek(0)
                frame = next(container.decode(stream), None)
            if frame is None:
                raise MediaError("The video has no frames.")
            image = frame.to_image()
            rotation = frame.rotation or 0
    except MediaError:
        raise
    except Exception as exc:  # any decoder or file error means the same to the caller
        raise MediaError("The video could not be read.") from exc
    upright: Image.Image = image.rotate(rotation, expand=True) if rotation else image
    return upright


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency laid over the dark tile colour."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def extract_poster(
    video_path: str | Path,
    out_path: str | Path,
    *,
    at_fraction: float = 0.4,
    max_width: int = 1280,
) -> tuple[int, int]:
    """Save the frame at ``at_fraction`` of the duration (0 = the first frame) as a JPEG
    (quality 85) no wider than ``max_width``; returns its (width, height). Raises
    MediaError when the video cannot be read."""
    image = _frame_at(video_path, at_fraction).convert("RGB")
    if image.width > max_width:
        height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, height), Image.Resampling.LANCZOS)
    image.save(out_path, "JPEG", quality=JPEG_QUALITY)
    return image.size


def make_thumbnail(
    image_path: str | Path, out_path: str | Path, *, max_size: tuple[int, int] = (320, 320)
) -> tuple[int, int]:
    """Save a JPEG thumbnail of an image (JPEG, PNG, WebP ...) that fits in ``max_size``,
    keeping its aspect ratio: upright (EXIF orientation applied), transparency flattened,
    never enlarged. Returns its (width, height); raises MediaError for unreadable images."""
    try:
        with Image.open(image_path) as source:
            source.draft("RGB", max_size)
            image = ImageOps.exif_transpose(source)
            image.thumbnail(max_size, Image.Resampling.LANCZOS)
            image = _flatten(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise MediaError("The image could not be read.") from exc
    image.save(out_path, "JPEG", quality=JPEG_QUALITY)
    return image.size


def video_thumbnail(
    video_path: str | Path, out_path: str | Path, *, max_size: tuple[int, int] = (320, 320)
) -> tuple[int, int]:
    """Save a JPEG thumbnail of a video's first frame that fits in ``max_size``; returns
    its (width, height). Raises MediaError when the video cannot be read."""
    image = _frame_at(video_path, 0.0).convert("RGB")
    image.thumbnail(max_size, Image.Resampling.LANCZOS)
    image.save(out_path, "JPEG", quality=JPEG_QUALITY)
    return image.size
