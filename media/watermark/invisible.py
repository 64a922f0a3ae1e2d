"""The invisible mark: embedding its pattern in the luma, and reading it back (`read_watermark`).

The pattern's strength follows the picture's texture. The reader fits level + drift +
sign x mark to the frames around each sign flip, so what holds still or moves slowly in the
picture drops out and only the mark is left; a few weak bits are recovered by Chase
decoding, checked against the CRC.
"""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
from PIL import Image

from media.errors import MediaError
from media.probe import first_video_stream, sniff
from media.watermark.codeword import (
    CODE_BITS,
    RAMP_SECONDS,
    SEGMENT_SECONDS,
    _cells,
    _decode_codeword,
    _grid,
    _layout,
    _spline,
    _thue_morse,
    sign_at,
)
from media.watermark.search import SEARCH_CONFIDENCE, Found, search_video
from media.watermark.visible import _mark, mark_position

STRENGTH = 2.5  # the largest luma change, in 8-bit levels
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
_YUV_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12"}


@dataclass(frozen=True)
class WatermarkReading:
    """What ``read_watermark`` found in a file."""

    found: bool  # check bits matched
    payload: int | None  # the 32-bit payload when found
    bits: tuple[int, ...]  # the raw decoded payload bits (PAYLOAD_BITS of them), found or not
    confidence: float  # 0..1: normalised correlation of the cells with the decoded codeword
    # Where the marked footage was found, when found: seconds into the file (start, end),
    # the play speed against the marked original, the original's time at the file's first
    # frame, and the geometry ("whole frame", a crop, a reframe, mirrored).
    start: float | None = None
    end: float | None = None
    speed: float | None = None
    offset: float | None = None
    geometry: str | None = None


# ---------------------------------------------------------------------------------------
# Embedding


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


def _reading(
    cells: np.ndarray,
    polarities: tuple[int, ...],
    known: np.ndarray | None = None,
    chase_confidence: float = CHASE_CONFIDENCE,
) -> WatermarkReading:
    """Decode accumulated cell correlations: each bit is the signed sum of its cells. For
    stills the sign of the pattern is unknown, so both polarities may be tried. ``known``
    marks the cells the copy shows (a crop shows fewer); the rest count for nothing."""
    rows, cols = cells.shape
    bit_of, signs = _layout(cols, rows)
    if known is not None:
        cells = np.where(known, cells, 0.0)
    soft = np.bincount(bit_of.ravel(), (cells * signs).ravel(), CODE_BITS)
    best: WatermarkReading | None = None
    for polarity in polarities:
        hard = (soft * polarity > 0).astype(np.int8)
        for bits in _candidates(hard, np.abs(soft)):
            raw, payload = _decode_codeword(bits)
            expected = (bits.astype(np.float32) * 2 - 1)[bit_of] * signs
            if known is not None:
                expected = np.where(known, expected, 0.0)
            norm = float(np.linalg.norm(cells) * np.linalg.norm(expected))
            confidence = max(0.0, float((cells * expected).sum()) / norm) if norm else 0.0
            found = payload is not None and (bits is hard or confidence >= chase_confidence)
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
    if not plain.found:
        masked = _reading(_combine(windows, still, masked=True), (1,))
        if (masked.found, masked.confidence) > (False, plain.confidence):
            plain = masked
    if plain.found:
        end = duration if duration > 0 else (t if start is not None else 0.0)
        return replace(
            plain, start=0.0, end=round(end, 3), speed=1.0, offset=0.0, geometry="whole frame"
        )
    # Not where the plain reader looks: an edited copy (trimmed, spliced, re-timed, cropped,
    # reframed, mirrored)? The search decodes the file again, only for files that failed.
    readings: list[WatermarkReading] = []

    def decodes(found: Found) -> bool:
        # the search's sign may be the sequence's mirror image: read the picture both ways
        for cells in (found.cells, -found.cells):
            reading = _reading(cells, (1,), found.known, SEARCH_CONFIDENCE)
            if reading.found:
                readings.append(reading)
                return True
        return False

    found = search_video(path, decodes)
    if found is None or not readings:
        return plain
    searched = readings[-1]
    return replace(
        searched,
        start=round(found.start, 3),
        end=round(found.end, 3),
        speed=round(found.speed, 3),
        offset=round(found.offset, 3),
        geometry=found.geometry,
    )


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
