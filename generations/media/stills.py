"""Stills from media: a video's poster frame and thumbnails for image and video assets."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image, ImageOps

from generations.media.errors import MediaError


def _frame_at(video_path: str | Path, at_fraction: float) -> Image.Image:
    try:
        with av.open(str(video_path)) as container:
            stream = container.streams.video[0]
            if at_fraction > 0 and container.duration:
                target = int(container.duration * at_fraction)
                container.seek(target, any_frame=False)
                start = target / 1_000_000
                for frame in container.decode(stream):
                    if frame.time is None or frame.time >= start - 1e-3:
                        return frame.to_image()
                container.seek(0)
            for frame in container.decode(stream):
                return frame.to_image()
    except (av.FFmpegError, IndexError) as exc:
        raise MediaError("The video could not be read.") from exc
    raise MediaError("The video has no frames.")


def extract_poster(
    video_path: str | Path,
    out_path: str | Path,
    *,
    at_fraction: float = 0.4,
    max_width: int = 1280,
) -> tuple[int, int]:
    """Save one frame (at ``at_fraction`` of the duration) as a JPEG; returns its size."""
    image = _frame_at(video_path, at_fraction).convert("RGB")
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)))
    image.save(out_path, "JPEG", quality=85)
    return image.size


def make_thumbnail(
    image_path: str | Path, out_path: str | Path, *, max_size: tuple[int, int] = (320, 320)
) -> tuple[int, int]:
    """A JPEG thumbnail of an image, upright (EXIF orientation applied), alpha flattened."""
    with Image.open(image_path) as source:
        image = ImageOps.exif_transpose(source)
        image.thumbnail(max_size)
        if image.mode in ("RGBA", "LA", "P"):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, (24, 24, 28))
            image.paste(rgba, mask=rgba.getchannel("A"))
        image.convert("RGB").save(out_path, "JPEG", quality=85)
        return image.size


def video_thumbnail(
    video_path: str | Path, out_path: str | Path, *, max_size: tuple[int, int] = (320, 320)
) -> tuple[int, int]:
    """A JPEG thumbnail of a video's first frame."""
    image = _frame_at(video_path, 0.0).convert("RGB")
    image.thumbnail(max_size)
    image.save(out_path, "JPEG", quality=85)
    return image.size
