"""Probing media: the real type of an upload from its content, and a video's technical data."""

from __future__ import annotations

import hashlib
import struct
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
from PIL import Image

from media.errors import MediaError

SUPPORTED = "JPEG, PNG, WebP, MP4, MOV or WebM"
NOT_SUPPORTED = "This file is not a supported image or video (JPEG, PNG, WebP, MP4, MOV, WebM)."
DAMAGED = "The file is damaged or truncated."
_IMAGE_TYPES = {
    "jpeg": ("image/jpeg", "jpg", "JPEG"),
    "png": ("image/png", "png", "PNG"),
    "webp": ("image/webp", "webp", "WEBP"),
}
_VIDEO_TYPES = {
    "mp4": ("video/mp4", "mp4", "mov"),
    "mov": ("video/quicktime", "mov", "mov"),
    "webm": ("video/webm", "webm", "matroska"),
}
# What a file picker should offer: every type above, by MIME type.
ACCEPTED_MIME_TYPES = ",".join(m for m, _, _ in (*_IMAGE_TYPES.values(), *_VIDEO_TYPES.values()))
# ISO-BMFF brands of still images (HEIF, AVIF): an ftyp box, but not a video we take.
_IMAGE_BRANDS = {
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
    b"mif1", b"mif2", b"msf1", b"avif", b"avis",
}  # fmt: skip
# Old QuickTime files start straight with one of these atoms instead of ftyp.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_OPEN_ENDED = {b"\x18\x53\x80\x67", b"\x1f\x43\xb6\x75"}  # Segment, Cluster


@dataclass(frozen=True)
class VideoProbe:
    """Technical data of a video file, as stored beside a Video."""

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
        """Plain JSON-ready values."""
        return asdict(self)


@dataclass(frozen=True)
class UploadProbe:
    """What an upload really is: decided from its content, checked intact and in limits."""

    kind: Literal["image", "video"]
    mime: str
    extension: str
    width: int
    height: int
    duration: float | None
    sha256: str
    size_bytes: int


def sniff(head: bytes) -> str | None:
    """The container type from a file's first bytes: jpeg, png, webp, mp4, mov, webm or svg;
    None for anything else."""
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
        return None if brand in _IMAGE_BRANDS else "mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return "mov"
    if head.startswith(_EBML_MAGIC):
        return "webm" if b"webm" in head[:64] else None
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<") and b"<svg" in text:
        return "svg"
    return None


def frame_pixels(path: str | Path) -> int:
    """Pixels in one frame of an image or video, read from its header alone (no pixel is
    decoded), so a huge image can be refused cheaply; 0 when the file is neither or its
    header cannot be read. An image too large for Pillow to open at all counts as huge."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            kind = sniff(f.read(4096))
        if kind in _IMAGE_TYPES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path, formats=[_IMAGE_TYPES[kind][2]]) as image:
                    return int(image.size[0]) * int(image.size[1])
        if kind in _VIDEO_TYPES:
            with av.open(str(path), format=_VIDEO_TYPES[kind][2]) as container:
                stream = first_video_stream(container)
                if stream is None:
                    return 0
                return int(stream.codec_context.width or 0) * int(stream.codec_context.height or 0)
    except Image.DecompressionBombError:
        return 1 << 62
    except Exception:  # a damaged header: the readers that follow say what is wrong
        return 0
    return 0


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def probe_upload(
    path: str | Path, *, max_bytes: int, max_pixels: int, max_video_seconds: float
) -> UploadProbe:
    """Decide what an uploaded file really is and check it is intact and within limits.

    The type comes from the content (magic bytes), never the name: JPEG, PNG and WebP
    images; MP4, MOV and WebM videos. Images are refused over ``max_pixels`` before any
    pixel is decoded, then decoded in full. Videos must have a video track, decode at
    their start and at their end, have every packet they declare, and stay within
    ``max_pixels`` per frame and ``max_video_seconds``. Raises MediaError, whose text is
    a plain message for the creator, for anything else; no other exception escapes."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise MediaError("The file could not be read.") from exc
    if size == 0:
        raise MediaError("The file is empty.")
    if size > max_bytes:
        raise MediaError(f"The file is larger than {_bytes_text(max_bytes)}.")
    kind = sniff(head)
    if kind == "svg":
        raise MediaError(f"SVG files are not supported; upload {SUPPORTED}.")
    if kind is None:
        raise MediaError(NOT_SUPPORTED)
    if kind in _IMAGE_TYPES:
        mime, extension, pil_format = _IMAGE_TYPES[kind]
        width, height = _guarded(lambda: _check_image(path, pil_format, max_pixels))
        duration = None
    else:
        mime, extension, demuxer = _VIDEO_TYPES[kind]
        if kind == "webm":
            _check_ebml(path, size)
        else:
            _check_boxes(path, size)
        width, height, duration = _guarded(
            lambda: _check_video(path, demuxer, max_pixels, max_video_seconds)
        )
    try:
        sha256 = file_sha256(path)
    except OSError as exc:
        raise MediaError("The file could not be read.") from exc
    kind_name: Literal["image", "video"] = "image" if kind in _IMAGE_TYPES else "video"
    return UploadProbe(kind_name, mime, extension, width, height, duration, sha256, size)


def _guarded[T](check: Callable[[], T]) -> T:
    """Run a decoder-backed check so that only MediaError leaves it."""
    try:
        return check()
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError("The image is too large to open safely.") from exc
    # Decoders fed hostile bytes raise every kind of exception (FFmpegError, OSError,
    # ValueError, EOFError, struct.error, MemoryError ...): all of them mean "unreadable".
    except Exception as exc:
        raise MediaError(DAMAGED) from exc


def _bytes_text(n: int) -> str:
    if n >= 1 << 20:
        mb = n / (1 << 20)
        return f"{mb:.0f} MB" if mb >= 10 or mb.is_integer() else f"{mb:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def _megapixels(n: int) -> str:
    mp = n / 1e6
    return f"{mp:.1f}".removesuffix(".0") if mp >= 1 else f"{mp:.2g}"


def _check_image(path: Path, pil_format: str, max_pixels: int) -> tuple[int, int]:
    """Header first (dimensions against the limit), then a full decode to catch truncation.
    Pillow's own bomb limit (Image.MAX_IMAGE_PIXELS) caps ``max_pixels``."""
    if Image.MAX_IMAGE_PIXELS:
        max_pixels = min(max_pixels, Image.MAX_IMAGE_PIXELS)
    too_big = MediaError(f"Images larger than {_megapixels(max_pixels)} megapixels are refused.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(path, formats=[pil_format])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_big from None
        with image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise MediaError(DAMAGED)
            if width * height > max_pixels:
                raise too_big
            image.load()
    return width, height


def _check_boxes(path: Path, size: int) -> None:
    """The top-level ISO-BMFF boxes must tile the file and include the movie header: a file
    cut short has a last box that claims more bytes than are there."""
    offset = 0
    seen: set[bytes] = set()
    try:
        with path.open("rb") as f:
            while size - offset >= 8:
                f.seek(offset)
                box_size, box_type = struct.unpack(">I4s", f.read(8))
                if box_size == 1:
                    (box_size,) = struct.unpack(">Q", f.read(8))
                elif box_size == 0:
                    box_size = size - offset
                if box_size < 8 or offset + box_size > size:
                    raise MediaError(DAMAGED)
                seen.add(box_type)
                offset += box_size
    except (OSError, struct.error) as exc:
        raise MediaError(DAMAGED) from exc
    if b"moov" not in seen:
        raise MediaError(DAMAGED)


def _check_ebml(path: Path, size: int) -> None:
    """Every element of a WebM must fit in the file. A Segment or Cluster of unknown size
    (what live recorders such as browsers write) is walked through its children, so a
    recording cut inside its last block is caught too."""
    offset = 0
    try:
        with path.open("rb") as f:
            while offset < size:
                f.seek(offset)
                header = f.read(12)
                id_width = _vint_width(header[0])
                if id_width > 4:
                    raise MediaError(DAMAGED)
                element = header[:id_width]
                if offset == 0 and element != _EBML_MAGIC:
                    raise MediaError(DAMAGED)
                length, size_width = _ebml_size(header, id_width)
                body = offset + id_width + size_width
                if body > size:
                    raise MediaError(DAMAGED)
                if length is None:
                    if element not in _OPEN_ENDED:
                        raise MediaError(DAMAGED)
                    offset = body
                    continue
                if body + length > size:
                    raise MediaError(DAMAGED)
                offset = body + length
    except (OSError, IndexError) as exc:
        raise MediaError(DAMAGED) from exc


def _vint_width(first: int) -> int:
    """The length in bytes of an EBML variable-length integer, from its first byte."""
    width = 1
    while width <= 8 and not first & (0x80 >> (width - 1)):
        width += 1
    return width


def _ebml_size(header: bytes, at: int) -> tuple[int | None, int]:
    """An element's data size (None when unknown) and the length of the size field."""
    width = _vint_width(header[at])
    if width > 8:
        raise MediaError(DAMAGED)
    value = header[at] & (0xFF >> width)
    for byte in header[at + 1 : at + width]:
        value = value << 8 | byte
    if at + width > len(header):
        raise MediaError(DAMAGED)
    return (None if value == (1 << (7 * width)) - 1 else value), width


def first_video_stream(container: Any) -> Any:
    """The first real video track (cover art in an audio file does not count)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _check_video(
    path: Path, demuxer: str, max_pixels: int, max_seconds: float
) -> tuple[int, int, float]:
    with av.open(str(path), format=demuxer) as container:
        stream = first_video_stream(container)
        if stream is None:
            raise MediaError("This file has no video track.")
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise MediaError(DAMAGED)
        if width * height > max_pixels:
            raise MediaError(
                f"Videos larger than {_megapixels(max_pixels)} megapixels are refused."
            )
        declared = _declared_duration(container, stream)
        if declared > max_seconds:
            raise MediaError(f"This video is longer than {max_seconds:g} seconds.")
        stream.codec_context.thread_type = "AUTO"
        measured, rotation = _check_complete(container, stream, declared)
    duration = max(declared, measured)
    if duration > max_seconds:
        raise MediaError(f"This video is longer than {max_seconds:g} seconds.")
    if rotation % 180:
        width, height = height, width
    return width, height, round(duration, 3)


def _declared_duration(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0


def _check_complete(container: Any, stream: Any, declared: float) -> tuple[float, int]:
    """Demux every packet, decode the first frame, then the last group of pictures (from
    the last keyframe to the end): a file cut short misses packets, ends early, or fails
    to decode at its end.

    Returns the time the packets cover and the first frame's rotation in degrees."""
    first = None
    gop: list[av.Packet[Any]] = []
    packets = 0
    start: float | None = None
    end = 0.0
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        if packet.is_corrupt:
            raise MediaError(DAMAGED)
        packets += 1
        if packet.pts is not None and packet.time_base is not None:
            pts = float(packet.pts * packet.time_base)
            start = pts if start is None else min(start, pts)
            end = max(end, pts + float((packet.duration or 0) * packet.time_base))
        if first is None:
            frames = stream.codec_context.decode(packet)
            first = frames[0] if frames else None
        if packet.is_keyframe:
            gop = []
        gop.append(packet)
    if first is None:
        frames = stream.codec_context.decode(None)
        first = frames[0] if frames else None
    if first is None or packets == 0:
        raise MediaError(DAMAGED)
    if stream.frames and packets < stream.frames:
        raise MediaError(DAMAGED)
    covered = end - (start or 0.0)
    if declared and covered < declared * 0.9 - 0.1:
        raise MediaError(DAMAGED)
    stream.codec_context.flush_buffers()
    decoded = 0
    for packet in [*gop, None]:
        decoded += len(stream.codec_context.decode(packet))
    if decoded == 0:
        raise MediaError(DAMAGED)
    return covered, int(getattr(first, "rotation", 0) or 0)


def probe_video(path: str | Path) -> VideoProbe:
    """Technical data of a video file we made or accepted; raises MediaError if it cannot
    be read. Frames come from the container's count, or from counting packets."""
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            stream = first_video_stream(container)
            if stream is None:
                raise MediaError("The file has no video track.")
            rate = stream.average_rate or stream.base_rate or Fraction(0)
            frames = stream.frames or sum(1 for p in container.demux(stream) if p.size)
            return VideoProbe(
                codec=stream.codec_context.name,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                fps=round(float(rate), 3),
                duration=round(_declared_duration(container, stream), 4),
                frames=frames,
                size_bytes=path.stat().st_size,
                pix_fmt=stream.codec_context.pix_fmt or "",
                has_audio=bool(container.streams.audio),
            )
    except MediaError:
        raise
    except Exception as exc:  # any decoder or file error means the same to the caller
        raise MediaError("The video could not be read.") from exc
