"""Probing media: the real type of an upload from its content, and a video's technical data."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
from PIL import Image

from generations.media.errors import MediaError

SUPPORTED = "JPEG, PNG, WebP, MP4, MOV or WebM"
_IMAGE_TYPES = {
    "jpeg": ("image/jpeg", "jpg"),
    "png": ("image/png", "png"),
    "webp": ("image/webp", "webp"),
}
_VIDEO_TYPES = {
    "mp4": ("video/mp4", "mp4"),
    "mov": ("video/quicktime", "mov"),
    "webm": ("video/webm", "webm"),
}
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


@dataclass(frozen=True)
class VideoProbe:
    codec: str
    width: int
    height: int
    fps: float
    duration: float
    frames: int
    size_bytes: int
    pix_fmt: str
    has_audio: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UploadProbe:
    kind: Literal["image", "video"]
    mime: str
    extension: str
    width: int
    height: int
    duration: float | None
    sha256: str
    size_bytes: int


def sniff(head: bytes) -> str | None:
    """The container type from a file's first bytes: jpeg, png, webp, mp4, mov, webm, svg."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "mov"
        if brand in {b"heic", b"heix", b"mif1", b"msf1", b"avif"}:
            return None
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head else None
    text = head.lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "svg"
    return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def probe_upload(
    path: str | Path, *, max_bytes: int, max_pixels: int, max_video_seconds: float
) -> UploadProbe:
    """Decide what an uploaded file really is and check it is intact and within limits.

    The type comes from the content, never the name. Raises MediaError with a plain
    message for anything else."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaError("The file is empty.")
    if size > max_bytes:
        raise MediaError(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    with path.open("rb") as f:
        head = f.read(4096)
    kind = sniff(head)
    if kind == "svg":
        raise MediaError(f"SVG files are not supported; upload {SUPPORTED}.")
    if kind is None:
        raise MediaError(f"This file is not a supported image or video ({SUPPORTED}).")
    if kind in _IMAGE_TYPES:
        width, height = _check_image(path, kind, max_pixels)
        mime, ext = _IMAGE_TYPES[kind]
        return UploadProbe("image", mime, ext, width, height, None, file_sha256(path), size)
    width, height, duration = _check_video(path, max_pixels, max_video_seconds)
    mime, ext = _VIDEO_TYPES[kind]
    return UploadProbe("video", mime, ext, width, height, duration, file_sha256(path), size)


def _too_big(max_pixels: int) -> MediaError:
    return MediaError(f"Images larger than {max_pixels / 1e6:g} megapixels are refused.")


def _check_image(path: Path, kind: str, max_pixels: int) -> tuple[int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if image.format != _PIL_FORMATS[kind]:
                    raise MediaError("The file is damaged or truncated.")
                if width * height > max_pixels:
                    raise _too_big(max_pixels)
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_big(max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError("The file is damaged or truncated.") from exc
    return width, height


def _check_video(path: Path, max_pixels: int, max_seconds: float) -> tuple[int, int, float]:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError("This file has no video track.")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if not width or not height:
                raise MediaError("The file is damaged or truncated.")
            if width * height > max_pixels:
                raise MediaError(f"Videos larger than {max_pixels / 1e6:g} megapixels are refused.")
            duration = _duration(container, stream)
            if duration > max_seconds:
                raise MediaError(f"This video is longer than {max_seconds:g} seconds.")
            _check_complete(container, stream, duration)
    except av.FFmpegError as exc:
        raise MediaError("The file is damaged or truncated.") from exc
    return width, height, duration


def _duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _check_complete(container: Any, stream: Any, duration: float) -> None:
    """Demux every packet and decode the first frame: a cut file comes up short."""
    decoded_first = False
    packets = 0
    last_end = 0.0
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        packets += 1
        if packet.pts is not None and packet.time_base is not None:
            end = (packet.pts + (packet.duration or 0)) * packet.time_base
            last_end = max(last_end, float(end))
        if not decoded_first:
            decoded_first = bool(packet.decode())
    if not decoded_first:
        for _ in container.decode(stream):
            decoded_first = True
            break
    expected = stream.frames
    start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
    if not decoded_first or packets == 0:
        raise MediaError("The file is damaged or truncated.")
    if expected and packets < expected:
        raise MediaError("The file is damaged or truncated.")
    if duration and last_end - start < duration * 0.9 - 0.1:
        raise MediaError("The file is damaged or truncated.")


def probe_video(path: str | Path) -> VideoProbe:
    """Technical data of a video file; raises MediaError if it cannot be read."""
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError("The file has no video track.")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.base_rate or Fraction(0)
            frames = stream.frames or sum(1 for p in container.demux(stream) if p.size)
            return VideoProbe(
                codec=stream.codec_context.name,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                fps=float(rate),
                duration=round(_duration(container, stream), 4),
                frames=frames,
                size_bytes=path.stat().st_size,
                pix_fmt=stream.codec_context.pix_fmt or "",
                has_audio=bool(container.streams.audio),
            )
    except av.FFmpegError as exc:
        raise MediaError("The video could not be read.") from exc
