"""Watermarks burnt into the videos we serve: an invisible payload in the luma of every
rendition and the visible moving Studio mark on the delivery one (`make_renditions`), and
reading the payload back from a served copy (`read_watermark`).

The invisible mark is spread-spectrum on a coarse grid of cells defined relative to the
frame (32 x 18, or 18 x 32 for portrait), so resizing does not move it. The 48-bit codeword
(32 payload bits and a CRC-16, whitened) gives each bit 12 cells with pseudo-random signs;
the cells are joined into a smooth surface (quadratic B-spline) of at most STRENGTH luma
levels on flat picture, up to GAIN_MAX times that where the picture is busy. The surface
flips sign on a Thue-Morse sequence of quarter-second segments (with a short ramp); the
reader fits level + drift + sign x mark to the frames around each flip, so what holds
still or moves slowly in the picture drops out and only the mark is left.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import math
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from media.errors import MediaError
from media.probe import first_video_stream, sniff

PAYLOAD_BITS: int = 32
CHECK_BITS = 16
CODE_BITS = PAYLOAD_BITS + CHECK_BITS
GRID_LONG, GRID_SHORT = 32, 18  # cells along the long and the short side of the frame
STRENGTH = 2.5  # the largest luma change, in 8-bit levels
SEGMENT_SECONDS = 0.25
RAMP_SECONDS = 0.08  # a sign change fades in over this long: no visible pop
GAIN_MAX = 2.0  # busy cells carry up to this many times STRENGTH
TEXTURE_LEVELS = 4.0  # detail (RMS luma levels) at which the gain starts to rise
# A Chase try (1 + 6 + 15 codewords) is believed only above this confidence: the CRC alone
# would then pass a random file once in about 3,000; never-marked clips score at most 0.25.
CHASE_BITS = 6
CHASE_CONFIDENCE = 0.4
READ_WINDOWS = 48  # sign flips read_watermark looks at, spread over the file
WINDOW_SECONDS = 0.1  # and the frames this long either side of each flip (and its ramp)
HIGHPASS_CELLS = 1.0  # the reader keeps detail finer than about this many cells
FINE = 4  # the reader looks at the luma at FINE x FINE samples per cell
WHITENING_SEED = 0x5747_4D4B  # "SWMK": fixes the cell layout and the whitening mask
MASTER_OPTIONS = {"preset": "superfast", "crf": "18", "x264-params": "mbtree=0"}
DELIVERY_OPTIONS = MASTER_OPTIONS
OPENH264_BIT_RATE = 8_000_000
# Audio codecs an MP4 can carry as they are; anything else is dropped rather than failing.
MP4_AUDIO = {"aac", "mp3", "opus", "alac", "ac3", "eac3", "flac"}
_BT709 = 1
_RANGE_MPEG = 1
Y_BLACK, Y_WHITE, NEUTRAL = 16, 235, 128
MARK_TEXT = "Studio"
MARK_OPACITY = 0.5
SHADOW_OPACITY = 0.35
MARK_PERIODS = (14.0, 9.0)  # seconds for the mark to drift across and back, x and y
_YUV_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12"}


@dataclass(frozen=True)
class WatermarkReading:
    """What ``read_watermark`` found in a file."""

    found: bool  # check bits matched
    payload: int | None  # the 32-bit payload when found
    bits: tuple[int, ...]  # the raw decoded payload bits (PAYLOAD_BITS of them), found or not
    confidence: float  # 0..1: normalised correlation of the cells with the decoded codeword


# ---------------------------------------------------------------------------------------
# The codeword and the cell layout


def _crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: init 0xFFFF, so an all-zero codeword is never valid."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _random_words(seed: int, n: int) -> list[int]:
    """n 32-bit words from splitmix64: our own generator, so the layout never changes
    with a NumPy or Python upgrade (a changed layout would orphan every served file)."""
    state = seed & 0xFFFF_FFFF_FFFF_FFFF
    words = []
    for _ in range(n):
        state = (state + 0x9E37_79B9_7F4A_7C15) & 0xFFFF_FFFF_FFFF_FFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & 0xFFFF_FFFF_FFFF_FFFF
        z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & 0xFFFF_FFFF_FFFF_FFFF
        words.append((z ^ (z >> 31)) >> 32)
    return words


@lru_cache(maxsize=1)
def _whitening() -> np.ndarray:
    """A fixed 0/1 mask XORed into the codeword so that no payload gives a flat pattern."""
    return np.array([w & 1 for w in _random_words(WHITENING_SEED ^ 0xA5A5, CODE_BITS)], np.int8)


def _codeword(payload: int) -> np.ndarray:
    """The 48 whitened bits (0/1) for a payload: 32 payload bits then its CRC-16."""
    if not 0 <= payload < 1 << PAYLOAD_BITS:
        raise ValueError(f"The payload must fit in {PAYLOAD_BITS} bits, not {payload}.")
    crc = _crc16(payload.to_bytes(PAYLOAD_BITS // 8, "big"))
    word = payload << CHECK_BITS | crc
    bits = np.array([(word >> (CODE_BITS - 1 - i)) & 1 for i in range(CODE_BITS)], np.int8)
    whitened: np.ndarray = bits ^ _whitening()
    return whitened


def _decode_codeword(bits: np.ndarray) -> tuple[tuple[int, ...], int | None]:
    """The raw payload bits of whitened codeword bits, and the payload if its CRC holds."""
    plain = (bits.astype(np.int8) ^ _whitening()).tolist()
    word = 0
    for bit in plain:
        word = word << 1 | int(bit)
    payload, crc = word >> CHECK_BITS, word & 0xFFFF
    ok = _crc16(payload.to_bytes(PAYLOAD_BITS // 8, "big")) == crc
    return tuple(int(b) for b in plain[:PAYLOAD_BITS]), payload if ok else None


def _grid(width: int, height: int) -> tuple[int, int]:
    """(columns, rows) of cells: the long side of the frame gets more of them."""
    return (GRID_LONG, GRID_SHORT) if width >= height else (GRID_SHORT, GRID_LONG)


@lru_cache(maxsize=4)
def _layout(cols: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Which codeword bit each cell carries and the cell's own sign, both (rows, cols).
    Bits are spread over the frame by a fixed shuffle, so one region lost (a logo, a
    letterbox, the visible mark) costs every bit a little rather than some bits all."""
    n = cols * rows
    words = _random_words(WHITENING_SEED + cols * 1000 + rows, 2 * n)
    order = list(range(n))
    for i in range(n - 1, 0, -1):  # Fisher-Yates
        j = words[i] % (i + 1)
        order[i], order[j] = order[j], order[i]
    bit_of = np.empty(n, np.int32)
    bit_of[order] = np.arange(n) % CODE_BITS
    signs = np.array([1.0 if w & 1 else -1.0 for w in words[n:]], np.float32)
    return bit_of.reshape(rows, cols), signs.reshape(rows, cols)


@lru_cache(maxsize=16)
def _spline(samples: int, cells: int) -> np.ndarray:
    """(samples, cells) weights that join cell values into a smooth curve: a quadratic
    B-spline through the cell centres, in coordinates relative to the frame edge."""
    u = (np.arange(samples, dtype=np.float64) + 0.5) * cells / samples - 0.5
    d = np.abs(u[:, None] - np.arange(cells)[None, :])
    w = np.where(d < 0.5, 0.75 - d**2, np.where(d < 1.5, 0.5 * (1.5 - d) ** 2, 0.0))
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def _cells(payload: int, cols: int, rows: int) -> np.ndarray:
    """Each cell's value, +1 or -1."""
    bit_of, signs = _layout(cols, rows)
    code = _codeword(payload).astype(np.float32) * 2 - 1
    pattern: np.ndarray = code[bit_of] * signs
    return pattern


def _thue_morse(segment: int) -> int:
    return -1 if bin(max(0, segment)).count("1") % 2 else 1


def sign_at(t: float) -> float:
    """The pattern's sign at ``t`` seconds: the Thue-Morse sign of its segment (balanced
    over every aligned pair, four, eight ... of segments), ramped in from the previous one."""
    segment = math.floor(max(0.0, t) / SEGMENT_SECONDS)
    now = _thue_morse(segment)
    if segment == 0:
        return float(now)
    before = _thue_morse(segment - 1)
    into = t - segment * SEGMENT_SECONDS
    return before + (now - before) * min(1.0, into / RAMP_SECONDS)


# ---------------------------------------------------------------------------------------
# The visible mark


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


# ---------------------------------------------------------------------------------------
# Writing


class _Patterns:
    """The full-size int16 pattern for each frame. Its strength follows the picture: once
    per segment the texture of the cells is measured, and busy cells (where a change hides
    and where the reader sees the most noise) get up to GAIN_MAX times more. Within a
    segment the same array serves every frame at full sign."""

    def __init__(self, width: int, height: int, payload: int) -> None:
        cols, rows = _grid(width, height)
        self._cells = _cells(payload, cols, rows)
        self._left, self._right = _spline(height, rows), _spline(width, cols).T
        flat = self._left @ self._cells @ self._right
        self._scale = np.float32(STRENGTH / max(1e-6, float(np.abs(flat).max())))
        self._segment = -1
        self._base = flat
        self._made: dict[float, np.ndarray] = {}

    def at(self, t: float, luma: np.ndarray) -> np.ndarray:
        segment = math.floor(t / SEGMENT_SECONDS)
        if segment != self._segment:
            gains = self._cells * _texture_gains(luma)
            self._base = (self._left @ gains @ self._right) * self._scale
            self._segment, self._made = segment, {}
        sign = round(sign_at(t), 3)
        if sign not in self._made:
            self._made[sign] = np.rint(self._base * sign).astype(np.int16)
        return self._made[sign]


def _texture_gains(luma: np.ndarray) -> np.ndarray:
    """Per cell, 1 where the picture is flat rising to GAIN_MAX where it is busy throughout:
    the typical size of the detail the reader would see, over TEXTURE_LEVELS."""
    height, width = luma.shape
    cols, rows = _grid(width, height)
    fine = _fine(luma, cols, rows)
    detail = np.abs(fine - _blur(fine, sigma=HIGHPASS_CELLS * FINE))
    blocks = detail.reshape(rows, FINE, cols, FINE).transpose(0, 2, 1, 3).reshape(rows, cols, -1)
    # The median, not the mean: a cell that is flat but for one sharp edge (a caption, a bar)
    # stays at 1, since the flat part is where a stronger mark would show. 0.674 turns a
    # median absolute value into an RMS for noise-like texture.
    busy = np.median(blocks, axis=2) / 0.674
    gain: np.ndarray = np.clip(busy / TEXTURE_LEVELS, 1.0, GAIN_MAX).astype(np.float32)
    return gain


def _fine(luma: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """The luma averaged down to FINE x FINE samples per cell, as float32."""
    image = Image.fromarray(np.ascontiguousarray(luma, dtype=np.float32), "F")
    return np.asarray(image.resize((cols * FINE, rows * FINE), Image.Resampling.BOX))


def embed_luma(y: np.ndarray, pattern: np.ndarray) -> None:
    """Add an int16 pattern to a uint8 luma plane in place, clipped to 0..255."""
    total = y.astype(np.int16)
    total += pattern
    np.clip(total, 0, 255, out=total)
    y[...] = total


def _h264_output(
    out: av.container.OutputContainer,
    rate: Fraction,
    width: int,
    height: int,
    options: dict[str, str],
    tags: tuple[int, int, int, int],
) -> Any:
    """An H.264 yuv420p stream on libx264, or libopenh264 where the build lacks it (as in
    render.py), tagged with the source's colour description."""
    if "libx264" in av.codecs_available:
        stream = out.add_stream("libx264", rate=rate)
        stream.options = dict(options)
    elif "libopenh264" in av.codecs_available:
        stream = out.add_stream("libopenh264", rate=rate)
        stream.bit_rate = OPENH264_BIT_RATE
    else:
        raise MediaError("This installation has no H.264 encoder (libx264 or libopenh264).")
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p"
    stream.time_base = 1 / rate
    context = stream.codec_context
    context.colorspace, context.color_primaries, context.color_trc, context.color_range = tags
    return stream


def _tags(frame: av.VideoFrame) -> tuple[int, int, int, int]:
    """The source frame's colour tags, BT.709 limited range where it leaves them open."""

    def known(value: Any, fallback: int) -> int:
        number = int(value or 0)
        return number if number not in (0, 2) else fallback  # 0 reserved, 2 unspecified

    return (
        known(frame.colorspace, _BT709),
        known(frame.color_primaries, _BT709),
        known(frame.color_trc, _BT709),
        int(frame.color_range or 0) or _RANGE_MPEG,
    )


def _copy_packet(packet: av.Packet[Any], stream: Any) -> av.Packet[Any]:
    """A fresh packet with the same bytes and timing: a muxer takes ownership of what it is
    given, so one demuxed packet cannot be muxed into two files."""
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
    copy.time_base = packet.time_base
    copy.is_keyframe = packet.is_keyframe
    if stream is not None:
        copy.stream = stream
    return copy


@dataclass
class _Output:
    """One rendition being written: its container, its video and audio streams."""

    path: Path
    tmp: Path
    container: Any = None
    video: Any = None
    audio: Any = None
    options: dict[str, str] | None = None
    visible: bool = False  # the visible mark too (the delivery rendition)


def make_renditions(
    src: Path,
    *,
    payload: int,
    master: Path | None,
    delivery: Path | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    """Decode ``src`` once; write ``master`` (the invisible watermark only) and/or
    ``delivery`` (invisible watermark and the visible moving mark), whichever are given.

    Both are H.264 yuv420p MP4 with the movie header first (``+faststart``), the same size,
    frame rate and frame count as ``src``, colour tags kept (BT.709 limited range where
    ``src`` has none), audio copied as it is when ``src`` has a track an MP4 can hold.
    ``payload`` is a 32-bit int (ValueError otherwise). Files are written beside their
    targets under temporary names and moved into place once both are complete, so an error
    leaves neither behind. ``on_progress`` gets rising fractions and a final 1.0. Raises
    MediaError when ``src`` cannot be read or decoded to the end."""
    _codeword(payload)  # checks the payload before any file is made
    if master is None and delivery is None:
        raise ValueError("make_renditions needs a master or a delivery path")
    outputs: list[_Output] = []
    try:
        # The master first: the visible mark is stamped on the shared planes after it.
        if master is not None:
            target = Path(master)
            outputs.append(_Output(target, _temp_beside(target), options=MASTER_OPTIONS))
        if delivery is not None:
            target = Path(delivery)
            outputs.append(
                _Output(target, _temp_beside(target), options=DELIVERY_OPTIONS, visible=True)
            )
        _write(Path(src), payload, outputs, on_progress)
        for output in outputs:
            output.tmp.chmod(0o644)
            os.replace(output.tmp, output.path)
    finally:
        for output in outputs:
            output.tmp.unlink(missing_ok=True)
    if on_progress:
        on_progress(1.0)


def _temp_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".watermark-", suffix=".mp4")
    os.close(fd)
    return Path(name)


def _write(
    src: Path,
    payload: int,
    outputs: list[_Output],
    on_progress: Callable[[float], None] | None,
) -> None:
    try:
        source = av.open(str(src))
    except Exception as exc:  # any open error means the same: not a video we can read
        raise MediaError("The video could not be read.") from exc
    with contextlib.ExitStack() as stack:
        stack.enter_context(source)
        video = first_video_stream(source)
        if video is None:
            raise MediaError("The video has no video track.")
        video.codec_context.thread_type = "AUTO"
        audio = next((s for s in source.streams.audio if s.codec_context.name in MP4_AUDIO), None)
        rate = Fraction(video.average_rate or video.guessed_rate or 25).limit_denominator(1001)
        expected = video.frames or (
            round(float(video.duration * video.time_base * rate)) if video.duration else 0
        )
        for output in outputs:
            output.container = stack.enter_context(
                av.open(str(output.tmp), "w", format="mp4", options={"movflags": "+faststart"})
            )
            if audio is not None:
                output.audio = output.container.add_stream_from_template(audio)
        patterns: _Patterns | None = None
        mark: _Mark | None = None
        count = 0
        waiting: list[av.Packet[Any]] = []  # audio before the first picture: no header yet
        for packet, frame in _demuxed(source, video, audio):
            if frame is None:
                if patterns is None:
                    waiting.append(_copy_packet(packet, None))
                    continue
                for output in outputs:
                    output.container.mux(_copy_packet(packet, output.audio))
                continue
            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            width, height = frame.width, frame.height
            if patterns is None:
                if width % 2 or height % 2:
                    raise MediaError(f"Videos of odd size ({width}x{height}) are not supported.")
                patterns = _Patterns(width, height, payload)
                tags = _tags(frame)
                for output in outputs:
                    assert output.options is not None
                    output.video = _h264_output(
                        output.container, rate, width, height, output.options, tags
                    )
                if any(output.visible for output in outputs):
                    mark = _mark(width, height)
                for early in waiting:
                    for output in outputs:
                        output.container.mux(_copy_packet(early, output.audio))
                waiting.clear()
            t = float(count / rate)
            planes = frame.to_ndarray(format="yuv420p")
            embed_luma(planes[:height], patterns.at(t, planes[:height]))
            for output in outputs:
                if output.visible and mark is not None:
                    y, u, v = _split(planes, width, height)
                    x, top = mark_position(
                        mark.light.shape[1], mark.light.shape[0], width, height, t
                    )
                    _stamp(y, u, v, mark, x, top)
                output.container.mux(output.video.encode(_frame(planes, count, tags)))
            count += 1
            if on_progress and expected and count % 10 == 0:
                on_progress(min(0.99, count / expected))
        if count == 0 or (video.frames and count < video.frames):
            raise MediaError("The video is damaged or truncated.")
        for output in outputs:
            output.container.mux(output.video.encode(None))


def _demuxed(
    source: Any, video: Any, audio: Any
) -> Iterator[tuple[av.Packet[Any], av.VideoFrame | None]]:
    """Decoded video frames (packet, frame) and audio packets (packet, None) in file
    order. Decoder errors become MediaError."""
    streams = [video] if audio is None else [video, audio]
    try:
        for packet in source.demux(*streams):
            if packet.stream.type == "audio":
                if packet.size:
                    yield packet, None
                continue
            for frame in packet.decode():
                yield packet, frame
    except MediaError:
        raise
    except av.FFmpegError as exc:
        raise MediaError("The video is damaged or truncated.") from exc


def _split(planes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Views of Y, U and V in to_ndarray's stacked yuv420p layout."""
    # U then V, each (height/2) x (width/2), packed back to back: when height/2 is odd
    # (854 rows: a 480p portrait) they do not start on a row of the stacked array.
    chroma = planes[height:].reshape(-1)
    size = (height // 2) * (width // 2)
    u = chroma[:size].reshape(height // 2, width // 2)
    v = chroma[size : 2 * size].reshape(height // 2, width // 2)
    return planes[:height], u, v


def _frame(planes: np.ndarray, pts: int, tags: tuple[int, int, int, int]) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    frame.pts = pts
    frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = tags
    return frame


# ---------------------------------------------------------------------------------------
# Reading


def _cell_correlations(luma: np.ndarray) -> np.ndarray:
    """How much each cell of the grid looks like a positive bump, in luma levels: the luma
    is averaged down to FINE samples per cell, its slow part (lighting, gradients, big
    shapes) removed, and what is left matched against the spline of each cell."""
    height, width = luma.shape
    cols, rows = _grid(width, height)
    fine = _fine(luma, cols, rows)
    detail = fine - _blur(fine, sigma=HIGHPASS_CELLS * FINE)
    cells: np.ndarray = _spline(rows * FINE, rows).T @ detail @ _spline(cols * FINE, cols) / FINE
    return cells


@lru_cache(maxsize=2)
def _gauss(sigma: float) -> np.ndarray:
    radius = math.ceil(3 * sigma)
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    normalised: np.ndarray = kernel / kernel.sum()
    return normalised


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A separable Gaussian blur with mirrored edges."""
    kernel = _gauss(sigma)
    radius = len(kernel) // 2
    padded = np.pad(image, radius, mode="reflect")
    rows = np.apply_along_axis(np.convolve, 1, padded, kernel, mode="valid")
    return np.apply_along_axis(np.convolve, 0, rows, kernel, mode="valid")


def _reading(cells: np.ndarray, polarities: tuple[int, ...]) -> WatermarkReading:
    """Decode accumulated cell correlations: each bit is the signed sum of its cells. For
    stills the sign of the pattern is unknown, so both polarities may be tried."""
    rows, cols = cells.shape
    bit_of, signs = _layout(cols, rows)
    soft = np.bincount(bit_of.ravel(), (cells * signs).ravel(), CODE_BITS)
    best: WatermarkReading | None = None
    for polarity in polarities:
        hard = (soft * polarity > 0).astype(np.int8)
        for bits in _candidates(hard, np.abs(soft)):
            raw, payload = _decode_codeword(bits)
            expected = (bits.astype(np.float32) * 2 - 1)[bit_of] * signs
            norm = float(np.linalg.norm(cells) * np.linalg.norm(expected))
            confidence = max(0.0, float((cells * expected).sum()) / norm) if norm else 0.0
            found = payload is not None and (bits is hard or confidence >= CHASE_CONFIDENCE)
            reading = WatermarkReading(found, payload if found else None, raw, round(confidence, 4))
            if best is None or (reading.found, reading.confidence) > (best.found, best.confidence):
                best = reading
            if found:
                break
    assert best is not None
    return best


def _candidates(hard: np.ndarray, reliability: np.ndarray) -> Iterator[np.ndarray]:
    """The hard decision, then it with one or two of its CHASE_BITS least reliable bits
    flipped (a Chase decoder): a short or heavily re-encoded clip often gets one or two
    bits wrong where the evidence was weakest, and the CRC tells which try is right."""
    yield hard
    weakest = np.argsort(reliability)[:CHASE_BITS].tolist()
    for count in (1, 2):
        for chosen in itertools.combinations(weakest, count):
            bits = hard.copy()
            bits[list(chosen)] ^= 1
            yield bits


def read_watermark(path: Path) -> WatermarkReading:
    """Read the invisible payload from a video (any size: re-encoded, resized) or a still
    image (JPEG, PNG, WebP: one frame, so weaker, and it may well not be found).

    A video is decoded once and the frames around up to READ_WINDOWS sign flips, spread over
    it, are looked at; the reader needs no knowledge of the size, the bit rate or whether
    the copy is a master or a delivery (the visible mark's path is known and left out when
    that helps). ``found`` is True only when the CRC-16 over the payload holds; ``bits`` are
    the raw payload bits either way. A truncated video is read as far as it decodes. Never
    raises for a readable file without a watermark; raises MediaError for a file that
    cannot be read."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise MediaError("The file could not be read.") from exc
    if sniff(head) in ("jpeg", "png", "webp"):
        return _read_still(path)
    return _read_video(path)


def _read_still(path: Path) -> WatermarkReading:
    try:
        with Image.open(path) as image:
            luma = np.asarray(image.convert("L"), np.float32)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise MediaError("The image could not be read.") from exc
    return _reading(_cell_correlations(luma), (1, -1))


def _flips(duration: float) -> list[float]:
    """The times at which the pattern's sign flips, with room for a window after them, at
    most READ_WINDOWS spread evenly over ``duration``. An unknown duration (0) gives the
    flips of the first hour; the windows past the end just stay empty."""
    end = duration if duration > 0 else 3600.0
    flips = [
        n * SEGMENT_SECONDS
        for n in range(1, math.ceil(end / SEGMENT_SECONDS))
        if _thue_morse(n) != _thue_morse(n - 1)
        and n * SEGMENT_SECONDS + RAMP_SECONDS + WINDOW_SECONDS <= end
    ]
    if len(flips) > READ_WINDOWS and duration > 0:
        last = len(flips) - 1
        flips = [flips[round(i * last / (READ_WINDOWS - 1))] for i in range(READ_WINDOWS)]
    return flips


@dataclass
class _Window:
    """The frames read around one sign flip: their times, signs, cell correlations and
    which cells the visible mark of a delivery touched in any of them."""

    flip: float
    times: list[float] = field(default_factory=list)
    signs: list[float] = field(default_factory=list)
    cells: list[np.ndarray] = field(default_factory=list)
    covered: np.ndarray | None = None

    def add(self, t: float, cells: np.ndarray, covered: np.ndarray) -> None:
        self.times.append(t)
        self.signs.append(sign_at(t))
        self.cells.append(cells)
        self.covered = covered if self.covered is None else self.covered | covered

    def estimate(self, *, masked: bool) -> np.ndarray | None:
        """The mark's cell correlations at positive sign: per cell, a least-squares fit of
        level + drift + sign x mark over the window. Frames a fraction of a second apart
        hardly differ in content, so what moves slowly or not at all drops out."""
        signs = np.array(self.signs)
        if self.covered is None or len(signs) < 4 or signs.max() - signs.min() < 1.5:
            return None
        design = np.stack([np.ones_like(signs), np.array(self.times) - self.flip, signs], 1)
        stacked = np.stack(self.cells).reshape(len(signs), -1)
        mark = (np.linalg.pinv(design) @ stacked)[2].reshape(self.cells[0].shape)
        return np.where(self.covered, np.nan, mark) if masked else mark


def _read_video(path: Path) -> WatermarkReading:
    windows: list[_Window] = []
    still: list[np.ndarray] = []  # every frame's signed correlations, for clips too short
    mark_size: tuple[int, int] | None = None
    try:
        with av.open(str(path)) as container:
            stream = first_video_stream(container)
            if stream is None:
                raise MediaError("The file has no video track.")
            stream.codec_context.thread_type = "AUTO"
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration
                else (container.duration or 0) / 1_000_000
            )
            flips = _flips(duration)
            windows = [_Window(flip) for flip in flips]
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            start: float | None = None
            for index, frame in enumerate(container.decode(stream)):
                time = frame.time if frame.time is not None else index / rate
                start = time if start is None else start
                t = time - start
                first = bisect.bisect_left(flips, t - RAMP_SECONDS - WINDOW_SECONDS)
                near = [
                    windows[i]
                    for i in range(first, min(len(flips), first + 2))
                    if flips[i] - WINDOW_SECONDS <= t
                ]
                if not near and (len(still) >= READ_WINDOWS or windows):
                    continue
                luma = _luma(frame)
                if mark_size is None:
                    mark_size = _mark(*luma.shape[::-1]).light.shape[::-1]
                cells = _cell_correlations(luma)
                covered = _under_mark(mark_size, luma.shape, t)
                for window in near:
                    window.add(t, cells, covered)
                if len(still) < READ_WINDOWS:
                    still.append(cells * sign_at(t))
    except MediaError:
        raise
    except Exception as exc:  # any decoder or file error means the same to the caller
        raise MediaError("The video could not be read.") from exc
    if start is None:
        raise MediaError("The video has no frames.")
    # A master has no visible mark, a delivery has: read it both ways, keep what checks out.
    plain = _reading(_combine(windows, still, masked=False), (1,))
    if plain.found:
        return plain
    masked = _reading(_combine(windows, still, masked=True), (1,))
    return masked if (masked.found, masked.confidence) > (False, plain.confidence) else plain


def _combine(windows: list[_Window], still: list[np.ndarray], *, masked: bool) -> np.ndarray:
    """One estimate of the mark's cell correlations from each flip window; a winsorised mean
    over them shrugs off the few windows where the picture itself changed a lot (a cut, the
    progress bar passing); cells left with fewer than three estimates count as unknown (0).
    With no usable window (a clip shorter than a flip), the signed mean of the frames, in
    which still content is not cancelled."""
    found = [w.estimate(masked=masked) for w in windows]
    estimates = np.array([e for e in found if e is not None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells: unknown, made 0
        if len(estimates) >= 3:
            # Windows are weighted by how quiet they are (a cut or a pan is loud), and each
            # cell's estimates are clipped to their middle half first.
            weights = 1 / np.nanmean(estimates**2, axis=(1, 2), keepdims=True)
            low, high = np.nanpercentile(estimates, [25, 75], axis=0)
            clipped = np.clip(estimates, low, high)
            valid = ~np.isnan(estimates)
            combined = np.nansum(clipped * weights, 0) / np.sum(valid * weights, 0)
            combined[np.sum(valid, axis=0) < 3] = 0
        elif len(estimates):
            combined = np.nanmean(estimates, axis=0)
        else:
            combined = np.mean(still, axis=0)
    return np.nan_to_num(combined)


def _under_mark(mark_size: tuple[int, int], shape: tuple[int, ...], t: float) -> np.ndarray:
    """The cells the visible mark (of a delivery rendition) touches at ``t``, with a cell to
    spare: a moving mark is not static content, so it would otherwise leak into the bits."""
    height, width = shape
    cols, rows = _grid(width, height)
    x, y = mark_position(mark_size[0], mark_size[1], width, height, t)
    c0 = max(0, math.floor(x * cols / width) - 1)
    c1 = min(cols, math.ceil((x + mark_size[0]) * cols / width) + 1)
    r0 = max(0, math.floor(y * rows / height) - 1)
    r1 = min(rows, math.ceil((y + mark_size[1]) * rows / height) + 1)
    covered = np.zeros((rows, cols), bool)
    covered[r0:r1, c0:c1] = True
    return covered


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """The luma plane of a decoded frame as a (height, width) array, without copying twice."""
    if frame.format.name not in _YUV_FORMATS:
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]
