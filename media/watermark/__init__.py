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

The package, by topic: `codeword` (payload, CRC, whitening, cell layout, sign over time),
`invisible` (embedding the pattern and reading it back), `visible` (the moving Studio mark),
`renditions` (`make_renditions`: one decode, one encoder per copy).
"""

from __future__ import annotations

from media.watermark.codeword import (
    CHECK_BITS,
    CODE_BITS,
    GRID_LONG,
    GRID_SHORT,
    PAYLOAD_BITS,
    RAMP_SECONDS,
    SEGMENT_SECONDS,
    WHITENING_SEED,
    sign_at,
)
from media.watermark.invisible import (
    CHASE_BITS,
    CHASE_CONFIDENCE,
    FINE,
    GAIN_MAX,
    HIGHPASS_CELLS,
    READ_WINDOWS,
    STRENGTH,
    TEXTURE_LEVELS,
    WINDOW_SECONDS,
    WatermarkReading,
    embed_luma,
    read_watermark,
)
from media.watermark.renditions import (
    DELIVERY_OPTIONS,
    MASTER_OPTIONS,
    MP4_AUDIO,
    OPENH264_BIT_RATE,
    make_renditions,
)
from media.watermark.visible import (
    MARK_OPACITY,
    MARK_PERIODS,
    MARK_TEXT,
    NEUTRAL,
    SHADOW_OPACITY,
    Y_BLACK,
    Y_WHITE,
    mark_position,
)
from media.watermark.visible import _mark as _mark  # tests draw the mark to learn its size

__all__ = [
    "CHASE_BITS",
    "CHASE_CONFIDENCE",
    "CHECK_BITS",
    "CODE_BITS",
    "DELIVERY_OPTIONS",
    "FINE",
    "GAIN_MAX",
    "GRID_LONG",
    "GRID_SHORT",
    "HIGHPASS_CELLS",
    "MARK_OPACITY",
    "MARK_PERIODS",
    "MARK_TEXT",
    "MASTER_OPTIONS",
    "MP4_AUDIO",
    "NEUTRAL",
    "OPENH264_BIT_RATE",
    "PAYLOAD_BITS",
    "RAMP_SECONDS",
    "READ_WINDOWS",
    "SEGMENT_SECONDS",
    "SHADOW_OPACITY",
    "STRENGTH",
    "TEXTURE_LEVELS",
    "WHITENING_SEED",
    "WINDOW_SECONDS",
    "Y_BLACK",
    "Y_WHITE",
    "WatermarkReading",
    "embed_luma",
    "make_renditions",
    "mark_position",
    "read_watermark",
    "sign_at",
]
