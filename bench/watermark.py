"""How well the invisible watermark survives, and what the renditions cost.

Usage: .venv/bin/python bench/watermark.py [--seconds 4] [--sizes 480p,720p,1080p]
       [--speed-seconds 10] [--skip-speed]

Robustness: for a title card (flat colour, static text), a textured moving clip and a hard
one (full-contrast texture at the scale of the mark's cells, panning), at each size, makes
the renditions and reads the payload back from the delivery as it is, after a libx264
re-encode at crf 23 and crf 28 (preset medium, what ffmpeg does by default), after a resize
to half size (then crf 23 / 28), and two harsher ones to show the margin: crf 35, and a
quarter size. Prints the fraction of the 32 payload bits right and whether the CRC-16 check
found the payload.

Speed: make_renditions (master + delivery, and master alone) on a 10 s 1080p clip, against
a plain PyAV decode + re-encode of the same file with the same encoder settings; ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from media.render import render_title_card  # noqa: E402
from media.watermark import (  # noqa: E402
    MASTER_OPTIONS,
    PAYLOAD_BITS,
    make_renditions,
    read_watermark,
)
from tests.mediatools import reencode  # noqa: E402

PAYLOAD = 0x5D1C_0A7E
FPS = 24
SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}


def textured(path: Path, size: tuple[int, int], seconds: float, *, grain: int, cell: int) -> None:
    """Random texture of blobs ``cell`` pixels wide panning 3 px a frame over a moving
    sinusoidal shade, with fresh grain of +-``grain`` levels in every frame."""
    width, height = size
    rng = np.random.default_rng(11)
    small = rng.integers(0, 256, (height // cell + 8, width // cell + 8, 3), dtype=np.uint8)
    big = np.asarray(
        Image.fromarray(small).resize((small.shape[1] * cell, small.shape[0] * cell), 3),
        np.int16,
    )
    across = np.linspace(0, 2 * np.pi, width, dtype=np.float32)[None, :, None]
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "16"}
        for i in range(round(seconds * FPS)):
            x, y = (i * 3) % (4 * cell), (i * 2) % (4 * cell)
            noise = rng.integers(-grain, grain + 1, (height, width, 1), dtype=np.int16)
            shade = (30 * np.sin(across - i / 8)).astype(np.int16)
            picture = np.clip(big[y : y + height, x : x + width] + noise + shade, 0, 255)
            frame = av.VideoFrame.from_ndarray(picture.astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def make_source(kind: str, path: Path, size: tuple[int, int], seconds: float) -> Path:
    if kind == "card":
        render_title_card(
            out_path=path,
            prompt="a lighthouse in a storm at dusk",
            width=size[0],
            height=size[1],
            seconds=seconds,
            fps=FPS,
            seed=5,
        )
    elif kind == "textured":
        textured(path, size, seconds, grain=6, cell=8 * size[1] // 480)
    else:
        textured(path, size, seconds, grain=10, cell=size[0] // 32)
    return path


def accuracy(path: Path) -> tuple[float, bool]:
    reading = read_watermark(path)
    want = [(PAYLOAD >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)]
    right = sum(a == b for a, b in zip(reading.bits, want, strict=True))
    return right / PAYLOAD_BITS, reading.found and reading.payload == PAYLOAD


def plain_transcode(src: Path, dst: Path) -> None:
    """The baseline: decode and encode once with the master's encoder settings."""
    with (
        av.open(str(src)) as source,
        av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        video = source.streams.video[0]
        video.codec_context.thread_type = "AUTO"
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height = video.codec_context.width, video.codec_context.height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.options = dict(MASTER_OPTIONS)
        for i, frame in enumerate(source.decode(video)):
            picture = frame.to_ndarray(format="yuv420p")  # the same copies make_renditions makes
            fresh = av.VideoFrame.from_ndarray(picture, format="yuv420p")
            fresh.pts = i
            out.mux(stream.encode(fresh))
        out.mux(stream.encode(None))


def timed(action: object, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--sizes", default="480p,720p,1080p")
    parser.add_argument("--kinds", default="card,textured,hard")
    parser.add_argument("--speed-seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="studio-watermark-bench-"))

    cases = ["delivery", "crf 23", "crf 28", "half+crf 23", "half+crf 28", "crf 35", "1/4+crf 23"]
    print(f"{args.seconds:g} s clips at {FPS} fps; bit accuracy (32 payload bits), * = CRC found")
    print(f"{'source':<10}{'size':<7}" + "".join(f"{c:>13}" for c in cases))
    for kind in args.kinds.split(","):
        for name in args.sizes.split(","):
            src = make_source(kind, work / f"{kind}-{name}.mp4", SIZES[name], args.seconds)
            master, delivery = work / "master.mp4", work / "delivery.mp4"
            make_renditions(src, payload=PAYLOAD, master=master, delivery=delivery)
            copies = [
                delivery,
                reencode(delivery, work / "c23.mp4", crf=23),
                reencode(delivery, work / "c28.mp4", crf=28),
                reencode(delivery, work / "h23.mp4", crf=23, scale=0.5),
                reencode(delivery, work / "h28.mp4", crf=28, scale=0.5),
                reencode(delivery, work / "c35.mp4", crf=35),
                reencode(delivery, work / "q23.mp4", crf=23, scale=0.25),
            ]
            cells = []
            for copy in copies:
                bits, found = accuracy(copy)
                cells.append(f"{bits:.3f}{'*' if found else ' '}")
            clean = accuracy(src)
            print(f"{kind:<10}{name:<7}" + "".join(f"{c:>13}" for c in cells), end="")
            print(f"   (source never marked: found={clean[1]})")

    if args.skip_speed:
        return
    src = make_source("textured", work / "speed.mp4", SIZES["1080p"], args.speed_seconds)
    out = work / "out.mp4"
    base = timed(lambda: plain_transcode(src, out), args.runs)
    both = timed(
        lambda: make_renditions(
            src, payload=PAYLOAD, master=work / "m.mp4", delivery=work / "d.mp4"
        ),
        args.runs,
    )
    alone = timed(lambda: make_renditions(src, payload=PAYLOAD, master=work / "m.mp4"), args.runs)
    read = timed(lambda: read_watermark(work / "d.mp4"), args.runs)
    print(f"\n{args.speed_seconds:g} s 1080p textured clip, best of {args.runs}:")
    print(f"  plain decode + re-encode      {base:6.2f} s   1.00x")
    print(f"  make_renditions master only   {alone:6.2f} s   {alone / base:.2f}x")
    print(f"  make_renditions both          {both:6.2f} s   {both / base:.2f}x")
    print(f"  read_watermark (delivery)     {read:6.2f} s   {read / base:.2f}x")


if __name__ == "__main__":
    main()
