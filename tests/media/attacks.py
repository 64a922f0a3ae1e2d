"""What the internet does to a video, as real re-encodes with PyAV: trims, splices, speed
changes, crops, reframes, flips, rotations, scaling. Shared by the watermark tests and
bench/watermark_attacks.py. Every attack decodes its input frame by frame and writes a fresh
libx264 MP4 (crf 23, preset fast unless told)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

Picture = np.ndarray  # (height, width, 3) uint8 RGB


def _frames(path: Path) -> tuple[list[Picture], Fraction]:
    with av.open(str(path)) as source:
        video = source.streams.video[0]
        rate = Fraction(video.average_rate or 24)
        return [f.to_ndarray(format="rgb24") for f in source.decode(video)], rate


def write(
    path: Path, pictures: Iterator[Picture] | list[Picture], rate: Fraction, *, crf: int = 23
) -> Path:
    """Encode RGB pictures (any even size after rounding down) as H.264 at ``rate``."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = None
        for i, picture in enumerate(pictures):
            h, w = picture.shape[0] // 2 * 2, picture.shape[1] // 2 * 2
            if stream is None:
                stream = out.add_stream("libx264", rate=rate)
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                stream.options = {"crf": str(crf), "preset": "fast"}
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture[:h, :w]), "rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        if stream is not None:
            out.mux(stream.encode(None))
    return path


def _resized(picture: Picture, width: int, height: int) -> Picture:
    image = Image.fromarray(picture).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image)


def trim(src: Path, dst: Path, seconds: float) -> Path:
    """Cut the first ``seconds``."""
    frames, rate = _frames(src)
    return write(dst, frames[round(seconds * rate) :], rate)


def splice(src: Path, dst: Path, before: Path, after: Path | None = None) -> Path:
    """``before``, then ``src``, then ``after`` (each resized to ``src``'s size)."""
    frames, rate = _frames(src)
    height, width = frames[0].shape[:2]
    parts = [_resized(p, width, height) for p in _frames(before)[0]] + frames
    if after is not None:
        parts += [_resized(p, width, height) for p in _frames(after)[0]]
    return write(dst, parts, rate)


def speed(src: Path, dst: Path, factor: float) -> Path:
    """Play ``factor`` times faster at the same frame rate (frames dropped or repeated)."""
    frames, rate = _frames(src)
    count = int(len(frames) / factor)
    return write(dst, [frames[min(len(frames) - 1, round(i * factor))] for i in range(count)], rate)


def geometric(src: Path, dst: Path, change: Callable[[Picture], Picture]) -> Path:
    frames, rate = _frames(src)
    return write(dst, (change(p) for p in frames), rate)


def crop(fraction: float, *, back: bool) -> Callable[[Picture], Picture]:
    """Cut ``fraction`` from each side; scaled back to the full size when ``back``."""

    def change(p: Picture) -> Picture:
        h, w = p.shape[:2]
        dx, dy = round(w * fraction), round(h * fraction)
        part = p[dy : h - dy, dx : w - dx]
        return _resized(part, w, h) if back else part

    return change


def crop_side(fraction: float) -> Callable[[Picture], Picture]:
    """Cut ``fraction`` from the left side only, scaled back."""

    def change(p: Picture) -> Picture:
        h, w = p.shape[:2]
        return _resized(p[:, round(w * fraction) :], w, h)

    return change


def reframe(aspect: float) -> Callable[[Picture], Picture]:
    """A centre window of ``aspect`` (9/16: a vertical reframe of a landscape video)."""

    def change(p: Picture) -> Picture:
        h, w = p.shape[:2]
        if aspect < w / h:
            new = round(h * aspect)
            return p[:, (w - new) // 2 : (w - new) // 2 + new]
        new = round(w / aspect)
        return p[(h - new) // 2 : (h - new) // 2 + new]

    return change


def flip(p: Picture) -> Picture:
    return np.ascontiguousarray(p[:, ::-1])


def rotate(degrees: float) -> Callable[[Picture], Picture]:
    """Rotate about the centre, zoomed just enough to leave no empty corners."""

    def change(p: Picture) -> Picture:
        h, w = p.shape[:2]
        image = Image.fromarray(p).rotate(degrees, Image.Resampling.BICUBIC)
        angle = np.radians(abs(degrees))
        zoom = np.cos(angle) + np.sin(angle) * max(w / h, h / w)
        cw, ch = w / zoom, h / zoom
        box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
        return np.asarray(image.resize((w, h), Image.Resampling.BICUBIC, box=box))

    return change


def scale(factor: float) -> Callable[[Picture], Picture]:
    def change(p: Picture) -> Picture:
        h, w = p.shape[:2]
        return _resized(p, max(2, round(w * factor)), max(2, round(h * factor)))

    return change
