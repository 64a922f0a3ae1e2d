"""The offline preview renderer: the prompt as an animated title card over moving colour
fields (or over the reference image), encoded as browser-playable H.264. Not AI."""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps

from media.errors import MediaError
from media.titles import Overlay, caption_overlay, title_overlay

FADE_SECONDS = 0.8
CANCEL_EVERY_FRAMES = 6
PROGRESS_INTERVAL = 0.1
# mbtree off: with it, libx264 in the PyAV wheel gave different bits (and different decoded
# pixels) for identical input on small frames, depending on what ran before in the process.
X264_OPTIONS = {"preset": "superfast", "crf": "23", "tune": "animation", "x264-params": "mbtree=0"}
# BT.709, limited range: what browsers assume for HD and what the stream is tagged with.
_KR, _KB = 0.2126, 0.0722
_BT709 = 1
_RANGE_MPEG = 1
Y_BLACK, Y_WHITE, NEUTRAL = 16, 235, 128


class RenderCanceled(Exception):
    """The render was canceled; no file was left behind."""


@dataclass(frozen=True)
class _Look:
    """Everything about a card that comes from the prompt and the seed."""

    colours: np.ndarray  # (4, 3) float32 RGB, 0..255
    motion: np.ndarray  # (4, 4) float32, 0..1: speed x, speed y, phase, size per blob
    pan: tuple[float, float]  # Ken Burns drift direction, each -1..1


@dataclass(frozen=True)
class _Planes:
    """One picture as yuv420p planes: Y at full size, U and V at half size."""

    y: Image.Image
    u: Image.Image
    v: Image.Image


def _look(prompt: str, seed: int) -> _Look:
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    raw = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) / 255.0
    base_hue = float(raw[0])
    colours = []
    for i in range(4):
        hue = (base_hue + 0.18 * i + 0.1 * float(raw[1 + i])) % 1.0
        saturation = 0.55 + 0.35 * float(raw[5 + i])
        value = 0.45 + 0.45 * float(raw[9 + i])
        colours.append(colorsys.hsv_to_rgb(hue, saturation, value))
    motion = raw[13:29].reshape(4, 4)
    pan = (float(raw[29]) * 2 - 1, float(raw[30]) * 2 - 1)
    return _Look(np.array(colours, np.float32) * 255, motion, pan)


def _yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float RGB 0..255 to limited-range BT.709 Y, Cb, Cr as uint8 arrays."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    luma = _KR * r + (1 - _KR - _KB) * g + _KB * b
    y = 16 + luma * (219 / 255)
    cb = 128 + (b - luma) / (2 * (1 - _KB)) * (224 / 255)
    cr = 128 + (r - luma) / (2 * (1 - _KR)) * (224 / 255)

    def to_bytes(c: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(c), 0, 255).astype(np.uint8)

    return to_bytes(y), to_bytes(cb), to_bytes(cr)


class _Field:
    """Soft colour blobs drifting on Lissajous paths over a dark base, drawn small.

    Each blob is a Gaussian, so it is the outer product of a row and a column profile; and
    Y, Cb and Cr are affine in RGB, so the colour-weighted mean is taken straight in YUV.
    A frame costs a few operations on the small picture, with no RGB image in between."""

    def __init__(self, look: _Look, w: int, h: int) -> None:
        self.look = look
        self.xs = np.arange(w, dtype=np.float32) / max(1, w - 1)
        self.ys = np.arange(h, dtype=np.float32) / max(1, h - 1)
        luma = np.array([_KR, 1 - _KR - _KB, _KB], np.float32)
        to_yuv = np.stack(
            [
                luma * (219 / 255),
                (np.array([0, 0, 1], np.float32) - luma) / (2 * (1 - _KB)) * (224 / 255),
                (np.array([1, 0, 0], np.float32) - luma) / (2 * (1 - _KR)) * (224 / 255),
            ]
        )
        self.colours = look.colours @ to_yuv.T  # (4 blobs, 3 channels): Y, Cb, Cr less offsets
        self.offsets = (16.0, 128.0, 128.0)
        self.frame = av.VideoFrame(w, h, "yuv444p")  # reused: reformat only reads it
        self.planes = [_plane_array(plane) for plane in self.frame.planes]

    def at(self, t: float) -> av.VideoFrame:
        """The small yuv444p picture at time ``t`` (the same frame object every call)."""
        base = 0.08
        weight = np.full((self.ys.size, self.xs.size), base, np.float32)
        sums = [np.full_like(weight, base * 0.25 * float(self.colours[0, c])) for c in range(3)]
        for i in range(4):
            fx, fy, phase, size = (float(v) for v in self.look.motion[i])
            cx = 0.5 + 0.42 * np.sin(t * (0.25 + 0.5 * fx) + phase * 6.283)
            cy = 0.5 + 0.42 * np.cos(t * (0.2 + 0.5 * fy) + phase * 4.0 + i)
            spread = 0.03 + 0.09 * size
            gx = np.exp(-((self.xs - cx) ** 2) / spread)
            gy = np.exp(-((self.ys - cy) ** 2) / spread)
            g = np.outer(gy, gx)
            weight += g
            for c in range(3):
                sums[c] += g * float(self.colours[i, c])
        for c, plane in enumerate(self.planes):
            values = sums[c] / weight + self.offsets[c]
            np.rint(values, out=values)
            np.clip(values, 0, 255, out=values)
            plane[:] = values
        return self.frame


def _plane_array(plane: av.video.plane.VideoPlane) -> np.ndarray:
    """A writable (height, width) uint8 view of a frame plane's pixels, no copy."""
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def _backdrop(reference: str | Path, width: int, height: int) -> _Planes:
    """The reference image upright, cover-fitted to a little more than the frame, as planes."""
    size = (round(width * 1.15) // 2 * 2, round(height * 1.15) // 2 * 2)
    try:
        with Image.open(reference) as image:
            image.draft("RGB", size)
            upright = ImageOps.exif_transpose(image).convert("RGB")
            fitted = ImageOps.fit(upright, size, Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise MediaError("The reference image could not be read.") from exc
    y, u, v = _yuv(np.asarray(fitted, np.float32))
    half = (size[0] // 2, size[1] // 2)
    return _Planes(
        Image.fromarray(y, "L"),
        Image.fromarray(u, "L").resize(half, Image.Resampling.BOX),
        Image.fromarray(v, "L").resize(half, Image.Resampling.BOX),
    )


def _ken_burns(backdrop: _Planes, look: _Look, p: float, width: int, height: int) -> _Planes:
    """The backdrop window at progress ``p``: a slow zoom in, drifting the card's way."""
    zoom = 1.0 + 0.12 * p
    win_w, win_h = backdrop.y.width / zoom, backdrop.y.height / zoom
    x0 = (backdrop.y.width - win_w) * (0.5 + 0.5 * look.pan[0] * (2 * p - 1))
    y0 = (backdrop.y.height - win_h) * (0.5 + 0.5 * look.pan[1] * (2 * p - 1))
    box = (x0, y0, x0 + win_w, y0 + win_h)
    half_box = (x0 / 2, y0 / 2, (x0 + win_w) / 2, (y0 + win_h) / 2)
    half = (width // 2, height // 2)
    bilinear = Image.Resampling.BILINEAR
    return _Planes(
        backdrop.y.resize((width, height), bilinear, box=box),
        backdrop.u.resize(half, bilinear, box=half_box),
        backdrop.v.resize(half, bilinear, box=half_box),
    )


# Fixed point for the blends below: weights in 0..256, so that a uint16 holds pixel x weight.
_ONE = 256


class _Stamp:
    """An overlay ready to blend into frame planes: per pixel, what is kept of the picture
    and what is added (the shadow pasted in black, then the light in white; the colour
    planes pulled to neutral under both). At full opacity that is worked out once."""

    def __init__(self, overlay: Overlay) -> None:
        self.x, self.y = overlay.x, overlay.y
        self.shadow = np.asarray(overlay.shadow, np.float32) / 255
        self.light = np.asarray(overlay.light, np.float32) / 255
        self.chroma = np.asarray(overlay.chroma, np.float32) / 255
        self.full = self._weights(1.0)

    def _weights(self, amount: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        shadow, light, chroma = self.shadow * amount, self.light * amount, self.chroma * amount
        keep = (1 - shadow) * (1 - light)
        add = Y_BLACK * shadow * (1 - light) + Y_WHITE * light
        keep_c, add_c = 1 - chroma, NEUTRAL * chroma

        def fixed(a: np.ndarray, offset: float = 0) -> np.ndarray:
            return np.rint(a * _ONE + offset).astype(np.uint16)

        return fixed(keep), fixed(add, _ONE / 2), fixed(keep_c), fixed(add_c, _ONE / 2)

    def into(self, planes: list[np.ndarray], amount: float, dy: int = 0) -> None:
        """Blend into (Y, U, V) planes at opacity ``amount`` (0..1), ``dy`` rows lower."""
        keep, add, keep_c, add_c = self.full if amount >= 1 else self._weights(amount)
        _blend(planes[0], self.x, self.y + dy, keep, add)
        for chroma in planes[1:]:
            _blend(chroma, self.x // 2, (self.y + dy) // 2, keep_c, add_c)


def _blend(plane: np.ndarray, x: int, y: int, keep: np.ndarray, add: np.ndarray) -> None:
    """plane = plane * keep + add over the patch at (x, y), clipped to the plane."""
    h, w = keep.shape
    top, left = max(0, y), max(0, x)
    bottom, right = min(plane.shape[0], y + h), min(plane.shape[1], x + w)
    if bottom <= top or right <= left:
        return
    region = plane[top:bottom, left:right]
    rows, cols = slice(top - y, bottom - y), slice(left - x, right - x)
    mixed = region.astype(np.uint16)
    mixed *= keep[rows, cols]
    mixed += add[rows, cols]
    mixed >>= 8
    region[:] = mixed


def _card_frames(
    *,
    prompt: str,
    width: int,
    height: int,
    seconds: float,
    fps: int,
    seed: int,
    reference_image: str | Path | None,
) -> Iterator[av.VideoFrame]:
    """The card's frames, yuv420p. Arguments are checked and the title and the backdrop
    prepared now, so bad input fails here rather than halfway through a file."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"The frame size must be positive and even, not {width}x{height}.")
    if fps <= 0 or seconds <= 0:
        raise ValueError("seconds and fps must be positive.")
    look = _look(prompt, seed)
    bar = max(2, height // 120 // 2 * 2)
    title = _Stamp(title_overlay(prompt, width, height))
    caption = _Stamp(caption_overlay(width, height, bar))
    backdrop = _backdrop(reference_image, width, height) if reference_image else None
    frames = max(1, round(seconds * fps))
    return _draw(look, title, caption, backdrop, width, height, frames, fps, bar)


def _draw(
    look: _Look,
    title: _Stamp,
    caption: _Stamp,
    backdrop: _Planes | None,
    width: int,
    height: int,
    frames: int,
    fps: int,
    bar: int,
) -> Iterator[av.VideoFrame]:
    """Each frame: the small colour field scaled up by libswscale straight into a fresh
    yuv420p frame, then the backdrop, the title, the caption and the progress bar blended
    into its planes in place (no PIL image or ndarray copy of the whole picture)."""
    field = _Field(look, max(8, width // 8), max(8, height // 8))
    fade_frames = max(1, round(FADE_SECONDS * fps))
    for i in range(frames):
        frame = field.at(i / fps).reformat(
            width=width, height=height, format="yuv420p", interpolation="BILINEAR"
        )
        planes = [_plane_array(plane) for plane in frame.planes]
        if backdrop is not None:
            window = _ken_burns(backdrop, look, i / max(1, frames - 1), width, height)
            for plane, image in zip(planes, (window.y, window.u, window.v), strict=True):
                # Image.blend(window, field, 0.22) in fixed point: 200/256 and 56/256.
                mixed = np.asarray(image, np.uint16) * 200
                mixed += plane.astype(np.uint16) * 56
                mixed += _ONE // 2
                mixed >>= 8
                plane[:] = mixed
        fade = 1.0 if frames == 1 else min(1.0, (i + 1) / fade_frames)
        eased = 1 - (1 - fade) ** 3
        title.into(planes, eased, dy=round((1 - eased) * height * 0.025) * 2)
        caption.into(planes, 1.0)
        end = (width * (i + 1)) // frames // 2 * 2
        if end:
            planes[0][height - bar :, :end] = Y_WHITE
            for chroma in planes[1:]:
                chroma[(height - bar) // 2 :, : end // 2] = NEUTRAL
        frame.pts = i
        frame.colorspace = frame.color_primaries = frame.color_trc = _BT709
        frame.color_range = _RANGE_MPEG
        yield frame


def _h264_stream(out: av.container.OutputContainer, fps: int) -> av.VideoStream:
    """An H.264 stream on the best software encoder this PyAV build has."""
    if "libx264" in av.codecs_available:
        stream = out.add_stream("libx264", rate=fps)
        stream.options = dict(X264_OPTIONS)
    elif "libopenh264" in av.codecs_available:
        stream = out.add_stream("libopenh264", rate=fps)
        stream.bit_rate = 4_000_000
    else:
        raise MediaError("This installation has no H.264 encoder (libx264 or libopenh264).")
    return stream


def _prefetched(frames: Iterator[av.VideoFrame], depth: int = 4) -> Generator[av.VideoFrame]:
    """Draw the next frames on a helper thread while the caller encodes this one (Pillow,
    numpy and x264 let go of the GIL). Stops the helper when the caller stops early."""
    ready: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        ready.put(("frame", frame), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(("end", None))
        except BaseException as exc:  # handed to the caller, who re-raises it
            ready.put(("error", exc))

    helper = threading.Thread(target=produce, name="title-card-frames", daemon=True)
    helper.start()
    try:
        while True:
            kind, item = ready.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(item, BaseException)
                raise item
            assert isinstance(item, av.VideoFrame)
            yield item
    finally:
        stop.set()
        helper.join()


def render_title_card(
    *,
    out_path: str | Path,
    prompt: str,
    width: int,
    height: int,
    seconds: float,
    fps: int,
    seed: int,
    reference_image: str | Path | None = None,
    on_progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> None:
    """Render the title card to ``out_path`` as an MP4: H.264, yuv420p (BT.709, limited
    range), moov first (``+faststart``), exactly ``round(seconds * fps)`` frames of
    ``width`` x ``height`` (both even) at ``fps``.

    Deterministic: the same arguments give the same bytes on the same machine (libx264's
    thread count follows the CPU count, so another machine may differ in bits, not in
    content). ``on_progress`` gets rising fractions in 0..1, at most about ten a second,
    and always a final 1.0. ``should_cancel`` is asked every few frames; when it says yes
    the render stops with RenderCanceled. The file is written beside ``out_path`` under a
    temporary name and moved into place at the end, so a crash or a cancel never leaves a
    partial file at ``out_path``. Raises ValueError for odd or empty sizes and MediaError
    when the reference image cannot be read."""
    out_path = Path(out_path)
    frames = max(1, round(seconds * fps))
    pictures = _card_frames(
        prompt=prompt,
        width=width,
        height=height,
        seconds=seconds,
        fps=fps,
        seed=seed,
        reference_image=reference_image,
    )
    fd, tmp_name = tempfile.mkstemp(dir=out_path.parent, prefix=".render-", suffix=".mp4")
    os.close(fd)
    tmp = Path(tmp_name)
    last_report = time.monotonic()
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = _h264_stream(out, fps)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, fps)
            context = stream.codec_context
            context.colorspace = context.color_primaries = context.color_trc = _BT709
            context.color_range = _RANGE_MPEG
            pictures = _prefetched(pictures)
            with contextlib.closing(pictures):
                for i, frame in enumerate(pictures):
                    if should_cancel and i % CANCEL_EVERY_FRAMES == 0 and should_cancel():
                        raise RenderCanceled()
                    out.mux(stream.encode(frame))
                    now = time.monotonic()
                    if on_progress and now - last_report >= PROGRESS_INTERVAL:
                        last_report = now
                        on_progress(min(0.99, (i + 1) / frames))
            out.mux(stream.encode(None))
        tmp.chmod(0o644)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    if on_progress:
        on_progress(1.0)
