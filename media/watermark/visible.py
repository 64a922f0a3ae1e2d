"""The visible Studio mark of a delivery: drawn to the frame's size, its moving place, its blend.

It drifts on a slow Lissajous path, so no fixed crop or blur removes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Y_BLACK, Y_WHITE, NEUTRAL = 16, 235, 128
MARK_TEXT = "Studio"
MARK_OPACITY = 0.5
SHADOW_OPACITY = 0.35
MARK_PERIODS = (14.0, 9.0)  # seconds for the mark to drift across and back, x and y


@dataclass(frozen=True)
class _Mark:
    """The Studio mark as alpha masks (0..1): light and shadow at full size, combined at
    half size for the colour planes. Width and height are even."""

    light: np.ndarray
    shadow: np.ndarray
    chroma: np.ndarray


def _mark(width: int, height: int) -> _Mark:
    """Draw the mark (a half-filled circle and the word Studio) scaled to the frame."""
    size = max(10, round(min(width, height) * 0.055))
    scale = 4  # drawn large and reduced: smooth edges on the circle
    font = ImageFont.load_default(size=size * scale)
    text_w = int(font.getlength(MARK_TEXT))
    disc = round(size * scale * 0.95)
    gap = size * scale // 3
    pad = size * scale // 4
    w = pad * 2 + disc + gap + text_w
    h = pad * 2 + round(size * scale * 1.25)
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    top = (h - disc) // 2
    box = (pad, top, pad + disc, top + disc)
    ring = max(2, disc // 9)
    draw.ellipse(box, outline=255, width=ring)
    draw.pieslice(box, 90, 270, fill=255)
    _, text_top, _, text_bottom = draw.textbbox((0, 0), MARK_TEXT, font=font)
    text_y = (h - (text_bottom - text_top)) // 2 - text_top
    draw.text((pad + disc + gap, text_y), MARK_TEXT, 255, font)
    small_size = (max(2, w // scale // 2 * 2), max(2, h // scale // 2 * 2))
    small = canvas.resize(small_size, Image.Resampling.BOX)
    shadow = small.filter(ImageFilter.GaussianBlur(max(1, size // 10)))
    light = np.asarray(small, np.float32) / 255 * MARK_OPACITY
    dark = np.asarray(shadow, np.float32) / 255 * SHADOW_OPACITY
    both = np.maximum(light, dark)
    chroma = both.reshape(both.shape[0] // 2, 2, both.shape[1] // 2, 2).mean(axis=(1, 3))
    return _Mark(light, dark, chroma)


def mark_position(mark_w: int, mark_h: int, width: int, height: int, t: float) -> tuple[int, int]:
    """Where the mark's top-left corner is at ``t`` seconds: drifting on a slow Lissajous
    path inside a margin, so no fixed crop or blur removes it. Even, for the chroma."""
    margin = max(2, min(width, height) // 30)
    span_x = max(0, width - mark_w - 2 * margin)
    span_y = max(0, height - mark_h - 2 * margin)
    fx = 0.5 + 0.5 * math.sin(2 * math.pi * t / MARK_PERIODS[0] - 0.3)
    fy = 0.5 + 0.5 * math.sin(2 * math.pi * t / MARK_PERIODS[1] + 1.9)
    x = margin + round(span_x * fx)
    y = margin + round(span_y * fy)
    return max(0, x - x % 2), max(0, y - y % 2)


def _stamp(y: np.ndarray, u: np.ndarray, v: np.ndarray, mark: _Mark, x: int, top: int) -> None:
    """Blend the mark into yuv420p planes in place: shadow, then light, chroma to grey."""
    mh = min(mark.light.shape[0], y.shape[0] - top)
    mw = min(mark.light.shape[1], y.shape[1] - x)
    region = y[top : top + mh, x : x + mw].astype(np.float32)
    region += (Y_BLACK - region) * mark.shadow[:mh, :mw]
    region += (Y_WHITE - region) * mark.light[:mh, :mw]
    y[top : top + mh, x : x + mw] = np.rint(region).astype(np.uint8)
    ch, cw = mh // 2, mw // 2
    alpha = mark.chroma[:ch, :cw]
    for plane in (u, v):
        part = plane[top // 2 : top // 2 + ch, x // 2 : x // 2 + cw].astype(np.float32)
        part += (NEUTRAL - part) * alpha
        plane[top // 2 : top // 2 + ch, x // 2 : x // 2 + cw] = np.rint(part).astype(np.uint8)
