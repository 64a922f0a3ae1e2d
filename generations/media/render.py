"""The offline preview renderer: the prompt as an animated title card over moving colour
fields (or over the reference image), encoded as browser-playable H.264. Not AI."""

from __future__ import annotations

import hashlib
import os
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

CAPTION = "Studio preview renderer · not an AI model"


class RenderCanceled(Exception):
    """The render was canceled; no file was left behind."""


def _palette(prompt: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three colours and twelve motion parameters, all from the prompt and seed."""
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    raw = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) / 255.0
    colours = 40 + 200 * raw[:9].reshape(3, 3)
    motion = raw[9:21]
    return colours, motion


def _field(colours: np.ndarray, motion: np.ndarray, t: float, w: int, h: int) -> np.ndarray:
    """A low-resolution frame of colour blobs drifting along Lissajous paths."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs /= w
    ys /= h
    out = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w, 1), np.float32)
    for i in range(3):
        fx, fy, phase, size = motion[i * 4 : i * 4 + 4]
        cx = 0.5 + 0.4 * np.sin(t * (0.3 + fx) + phase * 6.28)
        cy = 0.5 + 0.4 * np.cos(t * (0.25 + fy) + phase * 3.14)
        d = (xs - cx) ** 2 + (ys - cy) ** 2
        g = np.exp(-d / (0.04 + 0.1 * size))[..., None]
        out += g * colours[i]
        weight += g
    return out / (weight + 1e-3)


def _text_layer(
    prompt: str, width: int, height: int
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The title and caption drawn once as RGBA; returns the layer and its bounding box."""
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    short = min(width, height)
    size = max(12, short // 14)
    font = ImageFont.load_default(size=size)
    chars = max(12, int(width * 0.8 / (size * 0.55)))
    lines = textwrap.wrap(prompt, chars)[:5]
    if len(textwrap.wrap(prompt, chars)) > 5:
        lines[-1] = lines[-1][: max(0, chars - 1)] + "…"
    line_h = int(size * 1.25)
    top = (height - line_h * len(lines)) // 2
    for n, line in enumerate(lines):
        box = draw.textbbox((0, 0), line, font=font)
        x = (width - (box[2] - box[0])) // 2
        y = top + n * line_h
        draw.text((x + 2, y + 2), line, font=font, fill=(0, 0, 0, 140))
        draw.text((x, y), line, font=font, fill=(255, 255, 255, 255))
    small = ImageFont.load_default(size=max(9, short // 40))
    margin = max(6, short // 40)
    draw.text(
        (margin, height - margin - short // 40 - 4), CAPTION, font=small, fill=(255, 255, 255, 170)
    )
    array = np.asarray(layer)
    alpha = array[..., 3]
    rows, cols = np.nonzero(alpha)
    box = (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1)
    return array, box


def _backdrop(reference: str | Path, width: int, height: int) -> np.ndarray:
    """The reference image cover-fitted to a little more than the frame, for panning."""
    with Image.open(reference) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
        big = ImageOps.fit(image, (int(width * 1.12) // 2 * 2, int(height * 1.12) // 2 * 2))
        return np.asarray(big, dtype=np.float32)


def title_card_frames(
    *,
    prompt: str,
    width: int,
    height: int,
    seconds: float,
    fps: int,
    seed: int,
    reference_image: str | Path | None = None,
) -> Iterator[np.ndarray]:
    """The card's frames as RGB arrays: exactly the same pixels for the same arguments."""
    frames = max(1, round(seconds * fps))
    colours, motion = _palette(prompt, seed)
    low_w, low_h = max(8, width // 16), max(8, height // 16)
    text, (y0, y1, x0, x1) = _text_layer(prompt, width, height)
    text_rgb = text[y0:y1, x0:x1, :3].astype(np.float32)
    text_alpha = text[y0:y1, x0:x1, 3:4].astype(np.float32) / 255.0
    backdrop = _backdrop(reference_image, width, height) if reference_image else None
    bar = max(2, height // 120)
    for i in range(frames):
        t = i / fps
        field = _field(colours, motion, t, low_w, low_h)
        image = Image.fromarray(field.astype(np.uint8)).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        frame = np.array(image)
        if backdrop is not None:
            bh, bw = backdrop.shape[:2]
            p = i / max(1, frames - 1)
            ox = int((bw - width) * p)
            oy = int((bh - height) * (0.5 + 0.5 * np.sin(p * 3.14))) // 2
            window = backdrop[oy : oy + height, ox : ox + width]
            frame = (window * 0.72 + frame * 0.28).astype(np.uint8)
        fade = min(1.0, t / 0.6) if frames > 1 else 1.0
        rise = int((1 - fade) * height * 0.03)
        ty0, ty1 = y0 + rise, min(height, y1 + rise)
        alpha = text_alpha[: ty1 - ty0] * fade
        region = frame[ty0:ty1, x0:x1].astype(np.float32)
        blended = region * (1 - alpha) + text_rgb[: ty1 - ty0] * alpha
        frame[ty0:ty1, x0:x1] = blended.astype(np.uint8)
        frame[height - bar :, : int(width * (i + 1) / frames)] = 255
        yield frame


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
    """Encode ``title_card_frames`` (``round(seconds * fps)`` frames of ``width`` x
    ``height``) to an H.264 MP4, yuv420p, moov first.

    The frames are deterministic; the encoded bits nearly so (libx264 as shipped in the
    PyAV wheel gave slightly different bitstreams for identical input on some sizes, see
    the tests). Writes to a temporary file beside ``out_path`` and moves it into place at
    the end, so a crash or a cancel (RenderCanceled) never leaves a partial file there.
    ``on_progress`` gets fractions 0..1 (at most ~10 per second, and 1.0 at the end)."""
    out_path = Path(out_path)
    frames = max(1, round(seconds * fps))
    pictures = title_card_frames(
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
    last_report = 0.0
    try:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream("libx264", rate=fps)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            stream.time_base = Fraction(1, fps)
            stream.options = {"preset": "veryfast", "crf": "22", "tune": "animation"}
            for i, frame in enumerate(pictures):
                if should_cancel and i % 8 == 0 and should_cancel():
                    raise RenderCanceled()
                video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
                video_frame.pts = i
                for packet in stream.encode(video_frame):
                    out.mux(packet)
                now = time.monotonic()
                if on_progress and now - last_report >= 0.1:
                    last_report = now
                    on_progress((i + 1) / frames)
            for packet in stream.encode():
                out.mux(packet)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    if on_progress:
        on_progress(1.0)
