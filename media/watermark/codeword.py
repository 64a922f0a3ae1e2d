"""What the invisible mark is: the whitened codeword, its cell layout and its sign over time.

The payload and its CRC-16 are whitened and spread over a grid of cells relative to the
frame, the cells joined by a quadratic B-spline, the sign flipped on a Thue-Morse sequence.
Shared by the writer and the reader, and fixed: a change would orphan every served file.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

PAYLOAD_BITS: int = 32
CHECK_BITS = 16
CODE_BITS = PAYLOAD_BITS + CHECK_BITS
GRID_LONG, GRID_SHORT = 32, 18  # cells along the long and the short side of the frame
SEGMENT_SECONDS = 0.25
RAMP_SECONDS = 0.08  # a sign change fades in over this long: no visible pop
WHITENING_SEED = 0x5747_4D4B  # "SWMK": fixes the cell layout and the whitening mask


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
