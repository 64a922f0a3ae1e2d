"""Finding the mark in a copy that was edited: trimmed, spliced, sped up or slowed down,
cropped, reframed or mirrored (`search_video`, the reader's second pass).

The plain reader assumes the copy starts at the marked file's first frame, plays at its
speed and shows its whole frame. When that reading fails, this one makes no assumption:

1. **When.** Every frame's luma detail is matched against a grid of cells of the copy's own
   frame. A sign flip of the mark shows as a jump of one fixed pattern (up to sign) between
   neighbouring frames, whatever the geometry, so the leading eigenvector of the frames'
   normalised jumps gives the flips' time course. That course is matched against the
   Thue-Morse sign sequence over every start (offset into the marked original) and play
   speed from 0.75x to 1.5x; the sequence's own time is what a copy was cut from.
2. **What.** Knowing the sign of every frame, the mark's picture in the copy's coordinates
   is estimated as the plain reader does (level + drift + sign x mark around each flip, a
   robust mean over flips), so what holds still or moves slowly drops out.
3. **Where.** That picture is matched against the mark's cell grid under a set of
   geometries: the whole frame, crops of up to 20 % from any side, 9:16 and 16:9 centre
   reframes, each mirrored or not. The geometry whose cells agree best with one another is
   decoded (both polarities, CRC-16), and believed only above a detection score that
   never-marked files do not reach.

Nothing here changes the mark: files marked before read as they did.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
from PIL import Image

from media.errors import MediaError
from media.probe import first_video_stream
from media.watermark.codeword import (
    CODE_BITS,
    RAMP_SECONDS,
    SEGMENT_SECONDS,
    _grid,
    _layout,
    _thue_morse,
    sign_at,
)

SPEEDS = (0.75, 1.5)  # the play speeds searched
MAX_START = 64.0  # a copy may start this far (seconds) into the marked original
MAX_SECONDS = 60.0  # the part of a copy read by the search
SEARCH_FPS = 30.0  # frames beyond this rate are skipped
SIGN_STEP = 1 / 192  # seconds: the resolution of the offset search
SEARCH_WINDOW = 0.1  # seconds either side of a flip (and its ramp) fitted, in original time
SEARCH_HIGHPASS = 1.5  # cells of the copy's own grid: detail finer than this is kept
FINE = 4  # samples per cell of the copy's grid
CROPS = (0.0, 0.1, 0.2)  # fractions cut from each side searched (every combination)
ZOOMS = (0.025, 0.05, 0.075, 0.15)  # and the same cut from all four sides
ROTATIONS = (-5.0, -4.0, -3.0, -2.0, -1.0, 1.0, 2.0, 3.0, 4.0, 5.0)  # degrees
CENTRES = (0.5, 0.35, 0.65)  # where a reframe's window may sit across the original
# A geometry is decoded only when its cells agree this well (a z-score: about N(0, 1) on a
# never-marked file, and the best of every geometry searched stays under about 5 there).
DETECTION_Z = 7.0
SEARCH_CONFIDENCE = 0.45  # a Chase try found by the search is believed only above this
_YUV_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12"}


@dataclass(frozen=True)
class Found:
    """The search's best guess: the mark's cell correlations under the chosen geometry, which
    of them the copy shows, and where and how fast the marked footage plays."""

    cells: np.ndarray  # (rows, cols) of the original's grid
    known: np.ndarray  # bool, same shape: cells the copy shows
    z: float  # how well the cells agree (detection score)
    geometry: str
    offset: float  # the original's time at the copy's first frame, seconds
    speed: float
    start: float  # where in the copy the marked footage was found, seconds
    end: float


# ---------------------------------------------------------------------------------------
# Frames


@lru_cache(maxsize=8)
def _blur_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n) Gaussian blur with mirrored edges, as a matrix (fast on small images)."""
    radius = math.ceil(3 * sigma)
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    matrix = np.zeros((n, n), np.float64)
    for i in range(n):
        for offset, weight in zip(x, kernel, strict=True):
            j = i + int(offset)
            while j < 0 or j >= n:  # reflect without repeating the edge sample
                j = -j if j < 0 else 2 * (n - 1) - j
            matrix[i, j] += weight
    return matrix.astype(np.float32)


@lru_cache(maxsize=8)
def _box_matrix(n: int, out: int) -> np.ndarray:
    """(out, n) area averaging of n samples down to out."""
    edges = np.linspace(0, n, out + 1)
    matrix = np.zeros((out, n), np.float32)
    for i in range(out):
        lo, hi = edges[i], edges[i + 1]
        for j in range(math.floor(lo), min(n, math.ceil(hi))):
            matrix[i, j] = min(hi, j + 1) - max(lo, j)
        matrix[i] /= hi - lo
    return matrix


def _fine(luma: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """The luma averaged down to FINE x FINE samples per cell, as float32 (as the plain
    reader does)."""
    image = Image.fromarray(np.ascontiguousarray(luma, dtype=np.float32), "F")
    return np.asarray(image.resize((cols * FINE, rows * FINE), Image.Resampling.BOX))


def _detail(luma: np.ndarray) -> np.ndarray:
    """The luma averaged to FINE samples per cell of the copy's own grid, less its blur."""
    height, width = luma.shape
    cols, rows = _grid(width, height)
    fine = _fine(luma, cols, rows)
    sigma = SEARCH_HIGHPASS * FINE
    blurred = _blur_matrix(rows * FINE, sigma) @ fine @ _blur_matrix(cols * FINE, sigma).T
    detail: np.ndarray = fine - blurred
    return detail


def _frames(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Times (seconds from the first frame) and detail images of up to MAX_SECONDS of frames."""
    times: list[float] = []
    details: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            stream = first_video_stream(container)
            if stream is None:
                raise MediaError("The file has no video track.")
            stream.codec_context.thread_type = "AUTO"
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            start: float | None = None
            for index, frame in enumerate(container.decode(stream)):
                time = frame.time if frame.time is not None else index / rate
                start = time if start is None else start
                t = time - start
                if t > MAX_SECONDS:
                    break
                if times and t - times[-1] < 1 / SEARCH_FPS - 1e-3:
                    continue
                if frame.format.name not in _YUV_FORMATS:
                    frame = frame.reformat(format="yuv420p")
                plane = frame.planes[0]
                luma = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
                times.append(t)
                details.append(_detail(luma[:, : plane.width]))
    except MediaError:
        raise
    except Exception as exc:  # any decoder or file error means the same to the caller
        raise MediaError("The video could not be read.") from exc
    if not details:
        raise MediaError("The video has no frames.")
    return np.array(times), np.stack(details)


# ---------------------------------------------------------------------------------------
# 1. When: the flips' time course, matched against the sign sequence


def _channels(details: np.ndarray, geometry: tuple[_Geometry, int, int] | None) -> np.ndarray:
    """(frames, channels): the copy's own cells (geometry None), or the soft codeword bits
    under a geometry (each bit's cells summed with their signs: 12 times the evidence)."""
    count, frows, fcols = details.shape
    if geometry is None:
        rows, cols = frows // FINE, fcols // FINE
        down, across = _box_matrix(frows, rows).T, _box_matrix(fcols, cols).T
        own: np.ndarray = np.matmul(np.matmul(down.T, details), across).reshape(count, -1)
        return own
    shape, cols, rows = geometry
    across, _ = _axis(fcols, cols, shape.left, shape.right, shape.mirror)
    down, _ = _axis(frows, rows, shape.top, shape.bottom, False)
    cells = np.matmul(np.matmul(down.T, details), across).reshape(count, -1)
    bit_of, signs = _layout(cols, rows)
    spread = np.zeros((rows * cols, CODE_BITS), np.float32)
    spread[np.arange(rows * cols), bit_of.ravel()] = signs.ravel()
    bits: np.ndarray = cells @ spread
    return bits


def _time_course(channels: np.ndarray) -> np.ndarray:
    """Per frame, how much the picture jumped along the one pattern that keeps jumping: the
    leading eigenvector of the frames' normalised jumps. A jump is the change over two
    frames less a third of the change over six, so steady motion (a pan) cancels."""
    jumps = np.zeros_like(channels)
    jumps[1:-1] = channels[2:] - channels[:-2]
    jumps[3:-3] -= (channels[6:] - channels[:-6]) / 3
    jumps[:3] = jumps[-3:] = 0
    norms = np.linalg.norm(jumps, axis=1, keepdims=True)
    unit = np.divide(jumps, norms, out=np.zeros_like(jumps), where=norms > 0)
    # power iteration from a fixed start: a few dozen matrix-vector products, no BLAS threads
    vector = np.random.default_rng(0).standard_normal(unit.shape[1]).astype(np.float32)
    for _ in range(60):
        vector = unit.T @ (unit @ vector)
        vector /= np.linalg.norm(vector) or 1.0
    course: np.ndarray = unit @ vector
    return course


@lru_cache(maxsize=2)
def _signs(first: float, last: float) -> np.ndarray:
    """sign_at on the SIGN_STEP grid from ``first`` to ``last`` seconds of the original."""
    grid = first + np.arange(math.ceil((last - first) / SIGN_STEP) + 1) * SIGN_STEP
    segment = np.floor(np.maximum(grid, 0) / SEGMENT_SECONDS).astype(np.int64)
    tm = np.array([_thue_morse(int(s)) for s in range(int(segment.max()) + 2)], np.float32)
    now, before = tm[segment], tm[np.maximum(segment - 1, 0)]
    into = np.maximum(grid, 0) - segment * SEGMENT_SECONDS
    ramp = np.where(segment > 0, np.minimum(1.0, into / RAMP_SECONDS), 1.0)
    signs: np.ndarray = (before + (now - before) * ramp).astype(np.float32)
    return signs


def _alignments(times: np.ndarray, course: np.ndarray, keep: int = 6) -> list[tuple[float, float]]:
    """The best (offset, speed) pairs: where the flips predicted by the sign sequence best
    match the time course. Offsets are the original's time at the copy's first frame."""
    duration = float(times[-1]) if len(times) else 0.0
    first, last = -SPEEDS[1] * duration - 1.0, MAX_START + 1.0
    signs = _signs(first, last + SPEEDS[1] * duration + 1.0)
    step = min(0.01, 0.03 / max(duration, 1.0))
    speeds = np.arange(SPEEDS[0], SPEEDS[1] + step / 2, step)
    offsets = int((last - first) / SIGN_STEP)
    size = 1 << math.ceil(math.log2(len(signs) + 1))
    spectrum = np.fft.rfft(signs, size)
    found: list[tuple[float, float, float]] = []
    after, before = np.roll(times, -1), np.roll(times, 1)
    weights = course.copy()
    weights[[0, -1]] = 0
    for speed in speeds:
        # the jump at frame k is sign(k+1) - sign(k-1): a sparse train of +-course values
        train = np.zeros(size, np.float32)
        np.add.at(train, np.rint(after * speed / SIGN_STEP).astype(np.int64) % size, weights)
        np.add.at(train, np.rint(before * speed / SIGN_STEP).astype(np.int64) % size, -weights)
        score = np.fft.irfft(spectrum * np.conj(np.fft.rfft(train)), size)[:offsets]
        for index in np.argpartition(np.abs(score), -2)[-2:]:
            found.append((float(abs(score[index])), first + index * SIGN_STEP, float(speed)))
    found.sort(reverse=True)
    # rank the best few again by their normalised correlation (more flips score more raw)
    ranked = []
    for _, offset, speed in found[: keep * 4]:
        tau = offset + speed * times
        jump = np.zeros_like(course)
        jump[1:-1] = np.interp(tau[2:], *_sign_axis(first, signs)) - np.interp(
            tau[:-2], *_sign_axis(first, signs)
        )
        norm = float(np.linalg.norm(jump))
        ranked.append((abs(float(course @ jump)) / norm if norm else 0.0, offset, speed))
    ranked.sort(reverse=True)
    # the sign sequence repeats itself (up to sign) at many offsets: among alignments that
    # match as well, the earliest start is the likeliest (copies are mostly cut near the top)
    if ranked:
        top = ranked[0][0]
        ranked.sort(key=lambda r: (r[0] < top * 0.98, r[1] if r[0] >= top * 0.98 else -r[0]))
    unique: list[tuple[float, float]] = []
    for _, offset, speed in ranked:
        if all(abs(offset - o) > 0.1 or abs(speed - s) > 0.02 for o, s in unique):
            unique.append((offset, speed))
        if len(unique) == keep:
            break
    return unique


def _sign_axis(first: float, signs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return first + np.arange(len(signs)) * SIGN_STEP, signs


# ---------------------------------------------------------------------------------------
# 2. What: the mark's picture in the copy's coordinates


def _picture(
    times: np.ndarray, details: np.ndarray, offset: float, speed: float
) -> tuple[np.ndarray, list[tuple[float, np.ndarray]]] | None:
    """The mark at positive sign, per sample of the copy's fine grid, and the per-flip
    estimates (file time, picture) it was made from; None when no flip is in the copy."""
    tau = offset + speed * times
    span = (max(0.0, float(tau.min())), float(tau.max()))
    flips = [
        n * SEGMENT_SECONDS
        for n in range(
            max(1, math.ceil(span[0] / SEGMENT_SECONDS)), int(span[1] / SEGMENT_SECONDS) + 1
        )
        if _thue_morse(n) != _thue_morse(n - 1)
    ]
    estimates: list[tuple[float, np.ndarray]] = []
    for flip in flips:
        inside = (tau >= flip - SEARCH_WINDOW) & (tau <= flip + RAMP_SECONDS + SEARCH_WINDOW)
        if inside.sum() < 4:
            continue
        signs = np.array([sign_at(float(t)) for t in tau[inside]])
        if signs.max() - signs.min() < 1.5:
            continue
        design = np.stack([np.ones_like(signs), tau[inside] - flip, signs], 1)
        weights = np.linalg.pinv(design)[2]
        picture = np.tensordot(weights, details[inside], axes=1).astype(np.float32)
        estimates.append(((flip - offset) / speed, picture))
    if len(estimates) < 3:
        return None
    stack = np.stack([e for _, e in estimates])
    weights = 1 / np.mean(stack**2, axis=(1, 2), keepdims=True)
    low, high = np.percentile(stack, [25, 75], axis=0)
    combined = np.sum(np.clip(stack, low, high) * weights, 0) / np.sum(weights)
    return combined.astype(np.float32), estimates


# ---------------------------------------------------------------------------------------
# 3. Where: the geometry


@dataclass(frozen=True)
class _Geometry:
    """The copy shows the original's region [left, right] x [top, bottom] (fractions of its
    width and height), mirrored left to right when ``mirror``."""

    name: str
    left: float
    right: float
    top: float
    bottom: float
    mirror: bool


def _geometries(width: int, height: int) -> Iterator[tuple[_Geometry, int, int]]:
    """Each geometry searched with the original's (cols, rows) grid."""
    aspect = width / height
    shapes: list[tuple[str, float, float, float, float, float]] = []
    for left in CROPS:
        for right in CROPS:
            for top in CROPS:
                for bottom in CROPS:
                    original = aspect * (1 - top - bottom) / (1 - left - right)
                    shapes.append(
                        (
                            f"crop l{left:g} r{right:g} t{top:g} b{bottom:g}",
                            left,
                            1 - right,
                            top,
                            1 - bottom,
                            original,
                        )
                    )
    for cut in ZOOMS:
        shapes.append((f"crop {cut:g} all round", cut, 1 - cut, cut, 1 - cut, aspect))
    # reframes: a 9:16 window on a 16:9 original, or a 16:9 window on a 9:16 one
    for original in (16 / 9, 9 / 16):
        if original > aspect * 1.2:
            fraction = aspect / original
            for centre in CENTRES:
                lo = min(max(0.0, centre - fraction / 2), 1 - fraction)
                shapes.append((f"reframe x{centre:g}", lo, lo + fraction, 0.0, 1.0, original))
        elif original < aspect / 1.2:
            fraction = original / aspect
            for centre in CENTRES:
                lo = min(max(0.0, centre - fraction / 2), 1 - fraction)
                shapes.append((f"reframe y{centre:g}", 0.0, 1.0, lo, lo + fraction, original))
    for name, left, right, top, bottom, original in shapes:
        cols, rows = _grid(round(original * 1000), 1000)
        for mirror in (False, True):
            label = f"{name}{' mirrored' if mirror else ''}"
            yield _Geometry(label, left, right, top, bottom, mirror), cols, rows


@lru_cache(maxsize=1024)
def _axis(
    samples: int, cells: int, lo: float, hi: float, mirror: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(samples, cells) spline weights of the original's cells at the copy's samples, and
    which cells lie (by their centre) inside the copy."""
    u = (np.arange(samples) + 0.5) / samples
    x = hi - u * (hi - lo) if mirror else lo + u * (hi - lo)
    d = np.abs((x * cells - 0.5)[:, None] - np.arange(cells)[None, :])
    w = np.where(d < 0.5, 0.75 - d**2, np.where(d < 1.5, 0.5 * (1.5 - d) ** 2, 0.0))
    centres = (np.arange(cells) + 0.5) / cells
    known = (centres >= lo) & (centres <= hi)
    return w.astype(np.float32), known


def _agreement(cells: np.ndarray, known: np.ndarray) -> float:
    """How much more the cells of each bit agree (with their signs) than chance: a z-score
    of the cross terms of each bit's sum, about N(0, 1) for cells without a mark."""
    rows, cols = cells.shape
    bit_of, signs = _layout(cols, rows)
    values = np.where(known, cells * signs, 0.0).ravel()
    counts = np.bincount(bit_of.ravel(), known.ravel(), CODE_BITS)
    if counts.sum() < CODE_BITS:
        return 0.0
    sums = np.bincount(bit_of.ravel(), values, CODE_BITS)
    squares = np.bincount(bit_of.ravel(), values**2, CODE_BITS)
    variance = float(squares.sum() / counts.sum())
    spread = math.sqrt(2 * float((counts * (counts - 1)).sum())) * variance
    return float((sums**2 - squares).sum() / spread) if spread else 0.0


def _best_geometry(
    picture: np.ndarray,
) -> tuple[float, _Geometry, np.ndarray, np.ndarray]:
    frows, fcols = picture.shape
    best: tuple[float, _Geometry, np.ndarray, np.ndarray] | None = None
    height, width = frows, fcols  # the fine grid has the copy's aspect (square samples)
    cases = [(geometry, cols, rows, picture) for geometry, cols, rows in _geometries(width, height)]
    cols, rows = _grid(width, height)
    for degrees in ROTATIONS:
        for fill in (True, False):
            turned = _unrotated(picture, degrees, fill)
            for mirror in (False, True):
                name = (
                    f"rotated {degrees:g}{' zoomed' if fill else ''}{' mirrored' if mirror else ''}"
                )
                cases.append((_Geometry(name, 0.0, 1.0, 0.0, 1.0, mirror), cols, rows, turned))
    for geometry, cols, rows, seen in cases:
        across, known_c = _axis(fcols, cols, geometry.left, geometry.right, geometry.mirror)
        down, known_r = _axis(frows, rows, geometry.top, geometry.bottom, False)
        cells = down.T @ seen @ across
        known = known_r[:, None] & known_c[None, :]
        z = _agreement(cells, known)
        if best is None or z > best[0]:
            best = (z, geometry, cells, known)
    assert best is not None
    return best


def _unrotated(picture: np.ndarray, degrees: float, fill: bool) -> np.ndarray:
    """The picture of a copy rotated by ``degrees`` (and zoomed to fill its frame when
    ``fill``), resampled back onto the original's frame."""
    height, width = picture.shape
    angle = math.radians(degrees)
    zoom = 1.0
    if fill:
        zoom = math.cos(abs(angle)) + math.sin(abs(angle)) * max(width / height, height / width)
    # PIL's affine map takes each output (original) sample to where it lies in the copy
    cx, cy = width / 2, height / 2
    cos, sin = math.cos(angle) * zoom, math.sin(angle) * zoom
    a, b = cos, sin
    d, e = -sin, cos
    c = cx - a * cx - b * cy
    f = cy - d * cx - e * cy
    image = Image.fromarray(np.ascontiguousarray(picture, np.float32), "F")
    moved = image.transform(
        (width, height), Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BILINEAR
    )
    return np.asarray(moved)


# ---------------------------------------------------------------------------------------


def _courses(details: np.ndarray) -> Iterator[np.ndarray]:
    """Time courses to align, likeliest edits first: the whole frame's codeword bits (a
    trim, a splice, a speed change), mirrored, then the copy's own cells (any geometry),
    then the bits under a vertical reframe and a 10 % crop."""
    _, frows, fcols = details.shape
    geometries = {g.name: (g, cols, rows) for g, cols, rows in _geometries(fcols, frows)}
    wanted = ["crop l0 r0 t0 b0", "crop l0 r0 t0 b0 mirrored", None]
    wanted += [n for n in ("reframe x0.5", "reframe y0.5") if n in geometries]
    wanted += ["crop l0.1 r0.1 t0.1 b0.1"]
    for name in wanted:
        yield _time_course(_channels(details, None if name is None else geometries[name]))


def search_video(path: Path, accept: Callable[[Found], bool]) -> Found | None:
    """The first reading of an edited copy whose cells agree above DETECTION_Z and that
    ``accept`` takes (it decodes the cells: the CRC decides), or None."""
    times, details = _frames(path)
    if len(times) < 8:
        return None
    tried: list[tuple[float, float]] = []
    for course in _courses(details):
        for offset, speed in _alignments(times, course, keep=2):
            if any(abs(offset - o) < 0.05 and abs(speed - s) < 0.01 for o, s in tried):
                continue
            tried.append((offset, speed))
            made = _picture(times, details, offset, speed)
            if made is None:
                continue
            picture, estimates = made
            z, geometry, cells, known = _best_geometry(picture)
            if z < DETECTION_Z:
                continue
            start, end = _span(estimates, picture, float(times[-1]))
            found = Found(cells, known, z, geometry.name, offset, speed, start, end)
            if accept(found):
                return found
    return None


def _span(
    estimates: list[tuple[float, np.ndarray]], picture: np.ndarray, last: float
) -> tuple[float, float]:
    """The stretch of the copy whose flips agree with the combined picture."""
    norm = float(np.linalg.norm(picture)) or 1.0
    agreement = np.array(
        [
            float((e * picture).sum()) / (norm * (float(np.linalg.norm(e)) or 1.0))
            for _, e in estimates
        ]
    )
    smooth = np.convolve(agreement, np.ones(3) / 3, mode="same")
    agreeing = [t for (t, _), a in zip(estimates, smooth, strict=True) if a > 0.1]
    if not agreeing:
        return 0.0, last
    half = SEGMENT_SECONDS * 2
    return max(0.0, min(agreeing) - half), min(last, max(agreeing) + half)
