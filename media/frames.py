"""Frame geometry: the resolutions and aspect ratios Studio makes, and their pixel sizes."""

from __future__ import annotations

RESOLUTIONS: dict[str, int] = {"480p": 480, "720p": 720, "1080p": 1080}
ASPECT_RATIOS: dict[str, tuple[int, int]] = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}


def frame_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """Width and height in pixels: the short side is the resolution, both sides even."""
    short = RESOLUTIONS[resolution]
    a, b = ASPECT_RATIOS[aspect_ratio]
    long_side = round(short * max(a, b) / min(a, b) / 2) * 2
    return (long_side, short) if a >= b else (short, long_side)
