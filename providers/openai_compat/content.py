"""Checking what a server handed over before it is stored: a video must be a video (its
first bytes and a probe), a thumbnail or spritesheet an image."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from media.errors import MediaError
from media.probe import probe_video, sniff
from providers.base import PermanentError

VIDEO_KINDS = frozenset({"mp4", "mov", "webm"})
IMAGE_KINDS = frozenset({"jpeg", "png", "webp"})
RETRY_HINT = "Try again later, or ask the server's operator."


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(4096)


def check_is_video(path: Path) -> None:
    """Raise PermanentError unless ``path`` is a readable video: a server that answers the
    content request with an HTML page or an error text and a 200 must not have it stored as
    the video (nor made into a poster, a thumbnail strip, a Video row)."""
    head = _head(path)
    if sniff(head) not in VIDEO_KINDS:
        text = head[:512].decode("utf-8", "replace").lower()
        what = "a web page" if "<html" in text or "<!doctype" in text else "a file"
        raise PermanentError(
            f"The video server sent {what} that is not a video ({path.stat().st_size} "
            f"bytes) instead of the video, so nothing was saved. {RETRY_HINT}",
            code="not_a_video",
        )
    try:
        probe_video(path)
    except MediaError as exc:
        raise PermanentError(
            f"The video server sent a file that is not a readable video, so nothing was "
            f"saved. {RETRY_HINT}",
            code="not_a_video",
        ) from exc


def is_image(path: Path) -> bool:
    """Whether ``path`` is a JPEG, PNG or WebP image whose header Pillow can read."""
    if sniff(_head(path)) not in IMAGE_KINDS:
        return False
    try:
        with Image.open(path) as image:
            image.verify()
    except Exception:  # any decoder error means "not an image we take"
        return False
    return True
