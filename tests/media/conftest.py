"""Fixtures that make real media files (images with Pillow, videos with PyAV) in tmp_path."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image


def write_video(
    path: Path,
    *,
    container: str = "mp4",
    codec: str = "libx264",
    size: tuple[int, int] = (160, 90),
    frames: int = 12,
    fps: int = 12,
    faststart: bool = False,
    live: bool = False,
) -> Path:
    """A small clip whose frame ``i`` is a flat grey of level ``i * 20`` (capped) with a
    white bar moving across, so frames can be told apart after lossy coding."""
    width, height = size
    options = {"movflags": "+faststart"} if faststart else {}
    if live:
        options["live"] = "1"
    codec_options = {
        "libx264": {"preset": "ultrafast"},
        "libvpx": {"deadline": "realtime"},
        "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
    }.get(codec, {})
    with av.open(str(path), "w", format=container, options=options) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = codec_options
        for i in range(frames):
            picture = np.full((height, width, 3), min(250, i * 20), np.uint8)
            x = (i * width) // frames
            picture[:, x : x + max(2, width // 16)] = 255
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="session")
def _clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """Clips already encoded this session, by their write_video options."""
    return tmp_path_factory.mktemp("clips"), {}


@pytest.fixture
def make_video(tmp_path: Path, _clips: tuple[Path, dict[str, Path]]) -> Callable[..., Path]:
    """make_video(name, **write_video options) -> path of a real clip in tmp_path.

    Each set of options is encoded once per session; every test gets its own copy."""
    folder, made = _clips

    def make(name: str = "clip.mp4", **options: object) -> Path:
        key = repr(sorted(options.items()))
        if key not in made:
            made[key] = write_video(folder / f"clip-{len(made)}", **options)
        return Path(shutil.copyfile(made[key], tmp_path / name))

    return make


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """make_image(name, format, size=(123, 45), mode="RGB", **save options) -> path."""

    def make(
        name: str,
        format: str,
        size: tuple[int, int] = (123, 45),
        mode: str = "RGB",
        **save: object,
    ) -> Path:
        colour = {"RGB": (200, 40, 10), "RGBA": (200, 40, 10, 255), "L": 128}.get(mode, 0)
        image = Image.new(mode, size, colour)
        path = tmp_path / name
        image.save(path, format, **save)
        return path

    return make
