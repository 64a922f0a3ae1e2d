"""The title card's text: the prompt fitted into the frame as wrapped lines, and the honest
caption, each drawn once as a grey-scale overlay (a light mask with its soft shadow)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

# Pillow's default font: a FreeType font, or its bitmap fallback without FreeType.
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

CAPTION = "Studio preview renderer · not an AI model"
MAX_TITLE_LINES = 6
# A word up to this long is measured whole; a longer one a line's worth at a time.
SHORT_WORD = 64


@dataclass(frozen=True)
class Overlay:
    """A neutral (grey-scale) layer: a dark shadow mask and a white mask at one place."""

    shadow: Image.Image
    light: Image.Image
    chroma: Image.Image  # the combined alpha at half size, for the colour planes
    x: int
    y: int


def _largest(ok: Callable[[int], bool], low: int, high: int, hint: int) -> int:
    """The largest ``k`` in ``low..high`` for which ``ok(k)`` holds, where ``ok`` holds up to
    a point and not after (``ok(low)`` is taken to hold): tried at ``hint`` first, then
    galloping up or halving, so a few calls find it however wide the range."""
    if low < hint <= high:
        if ok(hint):
            low = hint
        else:
            high = hint - 1
    step = 1
    while low < high:
        probe = min(high, low + step)
        if not ok(probe):
            high = probe - 1
            break
        low, step = probe, step * 2
    while low < high:
        mid = (low + high + 1) // 2
        if ok(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _prefix_fits(text: str, fits: Callable[[str], bool], k: int) -> bool:
    return fits(text[:k])


def _words_fit(head: str, words: list[str], fits: Callable[[str], bool], k: int) -> bool:
    return fits(" ".join([head, *words[:k]]))


def _wrap(text: str, font: Font, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap; a word wider than the line is cut, and what is left of it starts
    the next line. Stops once there are more than ``max_lines`` lines (the caller shows at
    most that many).

    Each line is found with a few measurements of about its own length (how many
    characters, then how many more words, fit), so the time is bounded by what fits in the
    frame, whatever the prompt: a 2000-character word costs milliseconds, not minutes."""
    words = text.split()
    lines: list[str] = []
    line = ""
    i = 0
    chars_hint = words_hint = 1

    def fits(candidate: str) -> bool:
        return font.getlength(candidate) <= max_width

    while len(lines) <= max_lines:
        if not line:
            if i == len(words):
                break
            line, i = words[i], i + 1
        if len(line) > 1 and not (len(line) <= SHORT_WORD and fits(line)):
            cut = _largest(functools.partial(_prefix_fits, line, fits), 1, len(line), chars_hint)
            if cut < len(line):
                chars_hint = cut
                lines.append(line[:cut])
                line = line[cut:]
                continue
        rest = words[i:]
        more = _largest(functools.partial(_words_fit, line, rest, fits), 0, len(rest), words_hint)
        words_hint = max(1, more)
        line = " ".join([line, *rest[:more]])
        i += more
        lines.append(line)
        line = ""
        if i == len(words):
            break
    return lines


def _fit_title(prompt: str, width: int, height: int) -> tuple[Font, list[str], int]:
    """The largest font (and its lines) that fits the prompt in the middle of the frame;
    a prompt too long even at the smallest size is cut with an ellipsis."""
    text = " ".join(prompt.split()) or "Untitled"
    size = max(10, min(width, height) // 8)
    while True:
        font = ImageFont.load_default(size=size)
        lines = _wrap(text, font, width * 0.84, MAX_TITLE_LINES)
        line_height = round(size * 1.22)
        if len(lines) <= MAX_TITLE_LINES and line_height * len(lines) <= height * 0.56:
            return font, lines, line_height
        if size <= 10:
            break
        size = max(10, int(size * 0.88))
    lines = lines[:MAX_TITLE_LINES]
    while len(lines[-1]) > 1 and font.getlength(lines[-1] + "…") > width * 0.84:
        lines[-1] = lines[-1][:-1]
    lines[-1] = lines[-1].rstrip() + "…"
    return font, lines, line_height


def _overlay(light: Image.Image, shadow: Image.Image, x: int, y: int) -> Overlay:
    """Bundle a light mask with its shadow, at an even place so the chroma lines up."""
    pad_w, pad_h = light.width % 2, light.height % 2
    if pad_w or pad_h:
        light = ImageOps.expand(light, (0, 0, pad_w, pad_h), 0)
        shadow = ImageOps.expand(shadow, (0, 0, pad_w, pad_h), 0)
    combined = np.maximum(np.asarray(light), np.asarray(shadow))
    chroma = Image.fromarray(combined, "L").reduce(2)
    return Overlay(shadow, light, chroma, x - x % 2, y - y % 2)


def title_overlay(prompt: str, width: int, height: int) -> Overlay:
    """The prompt in white with a soft shadow, centred, drawn once."""
    font, lines, line_height = _fit_title(prompt, width, height)
    pad = max(4, line_height // 3)
    patch_w = int(max(font.getlength(line) for line in lines)) + 2 * pad
    patch_h = line_height * len(lines) + 2 * pad
    light = Image.new("L", (patch_w, patch_h), 0)
    draw = ImageDraw.Draw(light)
    for n, line in enumerate(lines):
        draw.text(((patch_w - font.getlength(line)) / 2, pad + n * line_height), line, 255, font)
    shadow = light.filter(ImageFilter.GaussianBlur(max(1, line_height // 10)))
    shadow = shadow.point(lambda v: v * 3 // 4)
    return _overlay(light, shadow, (width - patch_w) // 2, (height - patch_h) // 2)


def caption_overlay(width: int, height: int, bar: int) -> Overlay:
    """The small honest label in the bottom-left corner."""
    short = min(width, height)
    font = ImageFont.load_default(size=max(8, short // 36))
    margin = max(4, short // 36)
    box = font.getbbox(CAPTION)
    light = Image.new("L", (int(box[2]) + 2, int(box[3]) + 2), 0)
    shadow = light.copy()
    ImageDraw.Draw(light).text((0, 0), CAPTION, 190, font)
    ImageDraw.Draw(shadow).text((1, 1), CAPTION, 110, font)
    return _overlay(light, shadow, margin, height - margin - light.height - bar)
