"""What survives: the invisible mark under every edit the internet makes, before and after
the searching reader, and a false-positive run over never-marked clips and stills.

Usage: .venv/bin/python bench/watermark_attacks.py [--sizes 720p,portrait,1080p]
       [--seconds 2,4,8] [--kinds card,textured] [--attacks trim0.5,flip,...]
       [--never 200] [--never-only] [--skip-never]

For each clip (title card or textured moving footage, at each size and length) the master is
made with make_renditions and every attack is applied with a real decode, edit and libx264
re-encode (tests/media/attacks.py). Each cell is bits right out of 32 (the raw payload bits),
* where the CRC-16 found the payload, the confidence, and the read's CPU seconds; "before"
is the plain reader alone (main's reader: the file's first frame is the mark's, whole frame,
speed 1), "after" is read_watermark as it now is (the plain reader, then the search).

The false-positive run reads never-marked clips (title cards, textures, noise, footage-like
moving shapes with grain; some re-encoded, cropped or mirrored) and stills, and prints how
many read as marked and the highest confidence and detection score seen.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import media.watermark.invisible as invisible  # noqa: E402
import media.watermark.search as search  # noqa: E402
from bench.watermark import make_source  # noqa: E402
from media.render import render_title_card  # noqa: E402
from media.watermark import PAYLOAD_BITS, make_renditions, read_watermark  # noqa: E402
from tests.media import attacks as A  # noqa: E402
from tests.mediatools import reencode  # noqa: E402

PAYLOAD = 0x5D1C_0A7E
SIZES = {"720p": (1280, 720), "portrait": (720, 1280), "1080p": (1920, 1080), "360p": (640, 360)}
Attack = Callable[[Path, Path, dict[str, Path]], Path]


def _attacks() -> dict[str, Attack]:
    def geo(change: Callable[[np.ndarray], np.ndarray]) -> Attack:
        return lambda src, dst, _: A.geometric(src, dst, change)

    def reframe(src: Path, dst: Path, _: dict[str, Path]) -> Path:
        import av

        with av.open(str(src)) as c:
            s = c.streams.video[0]
            landscape = s.codec_context.width >= s.codec_context.height
        return A.geometric(src, dst, A.reframe(9 / 16 if landscape else 16 / 9))

    return {
        "as is": lambda src, dst, _: src,
        "crf 23": lambda src, dst, _: reencode(src, dst, crf=23),
        "crf 28": lambda src, dst, _: reencode(src, dst, crf=28),
        "half+crf 23": lambda src, dst, _: reencode(src, dst, crf=23, scale=0.5),
        "trim 0.5s": lambda src, dst, _: A.trim(src, dst, 0.5),
        "trim 1.3s": lambda src, dst, _: A.trim(src, dst, 1.3),
        "splice 2s+": lambda src, dst, o: A.splice(src, dst, o["other"]),
        "between": lambda src, dst, o: A.splice(src, dst, o["other"], o["other"]),
        "speed 0.75": lambda src, dst, _: A.speed(src, dst, 0.75),
        "speed 1.25": lambda src, dst, _: A.speed(src, dst, 1.25),
        "speed 1.5": lambda src, dst, _: A.speed(src, dst, 1.5),
        "crop 10% back": geo(A.crop(0.1, back=True)),
        "crop 10%": geo(A.crop(0.1, back=False)),
        "crop 20% left": geo(A.crop_side(0.2)),
        "reframe": reframe,
        "flip": geo(A.flip),
        "rotate 2": geo(A.rotate(2)),
        "rotate 5": geo(A.rotate(5)),
        "scale 0.25": geo(A.scale(0.25)),
        "scale 2": geo(A.scale(2.0)),
    }


def _bits_right(bits: tuple[int, ...]) -> int:
    want = [(PAYLOAD >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS)]
    return sum(a == b for a, b in zip(bits, want, strict=True))


def _read(path: Path, *, plain: bool) -> tuple[int, bool, float, float]:
    original = invisible.search_video
    if plain:
        invisible.search_video = lambda _path, _accept: None  # type: ignore[assignment]
    try:
        start = time.process_time()
        reading = read_watermark(path)
        cpu = time.process_time() - start
    finally:
        invisible.search_video = original
    return _bits_right(reading.bits), reading.payload == PAYLOAD, reading.confidence, cpu


def robustness(args: argparse.Namespace, work: Path) -> None:
    attacks = _attacks()
    chosen = args.attacks.split(",") if args.attacks else list(attacks)
    other = make_source("textured", work / "other.mp4", (640, 360), 2.0)
    print("cell: bits right of 32, * = payload found (CRC), confidence, read CPU s")
    header = f"{'clip':<22}{'attack':<15}{'before':>24}{'after':>24}"
    print(header)
    totals = {"before": 0, "after": 0, "cells": 0}
    for kind in args.kinds.split(","):
        for size in args.sizes.split(","):
            for seconds in (float(s) for s in args.seconds.split(",")):
                name = f"{kind} {size} {seconds:g}s"
                src = make_source(kind, work / "src.mp4", SIZES[size], seconds)
                master = work / "master.mp4"
                make_renditions(src, payload=PAYLOAD, master=master)
                for attack in chosen:
                    copy = attacks[attack](master, work / "copy.mp4", {"other": other})
                    cells = []
                    for plain in (True, False):
                        bits, ok, conf, cpu = _read(copy, plain=plain)
                        totals["before" if plain else "after"] += ok
                        cells.append(f"{bits:>2}{'*' if ok else ' '} {conf:.2f} {cpu:5.2f}s")
                    totals["cells"] += 1
                    print(f"{name:<22}{attack:<15}{cells[0]:>24}{cells[1]:>24}", flush=True)
    print(
        f"\nfound: before {totals['before']}/{totals['cells']}, "
        f"after {totals['after']}/{totals['cells']}"
    )


def _never_marked(index: int, work: Path) -> Path:
    """One of four kinds of never-marked footage, some edited afterwards."""
    rng = np.random.default_rng(index)
    path = work / f"never-{index}.mp4"
    size = (320, 180) if index % 3 else (180, 320)
    kind = index % 4
    if kind == 0:
        render_title_card(
            out_path=path,
            prompt=f"plain card {index}",
            width=size[0],
            height=size[1],
            seconds=2,
            fps=24,
            seed=index,
        )
    elif kind == 1:
        make_source("textured", path, size, 2.0)
    else:
        frames = []
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w]
        blobs = rng.uniform(0, 1, (6, 5))
        for i in range(48):
            if kind == 2:  # noise
                picture = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            else:  # footage-like: soft shapes drifting over a gradient, with grain
                base = np.zeros((h, w), np.float32) + 60 + 80 * xx / w
                for bx, by, r, speed, level in blobs:
                    cx, cy = (bx * w + speed * 4 * i) % w, by * h
                    base += (
                        level
                        * 90
                        * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (r * 40 + 8) ** 2))
                    )
                base += rng.normal(0, 3, (h, w))
                picture = np.repeat(np.clip(base, 0, 255).astype(np.uint8)[..., None], 3, 2)
            frames.append(picture)
        A.write(path, frames, 24)  # type: ignore[arg-type]
    edit = index % 5
    if edit == 1:
        return reencode(path, work / f"never-{index}-c.mp4", crf=28, scale=0.5)
    if edit == 2:
        return A.geometric(path, work / f"never-{index}-f.mp4", A.flip)
    if edit == 3:
        return A.trim(path, work / f"never-{index}-t.mp4", 0.5)
    return path


def false_positives(count: int, work: Path) -> None:
    positives, confidences, scores, cpus = 0, [], [], []
    original = search.search_video

    threshold = search.DETECTION_Z

    def watched(path: Path, accept: Callable[[search.Found], bool]) -> search.Found | None:
        # every candidate is scored (the threshold lowered), the best score kept, and only
        # those above the real threshold handed on to be decoded
        seen = [0.0]

        def scored(found: search.Found) -> bool:
            seen[0] = max(seen[0], found.z)
            return found.z >= threshold and accept(found)

        search.DETECTION_Z = -1e9
        try:
            return original(path, scored)
        finally:
            search.DETECTION_Z = threshold
            scores.append(seen[0])

    invisible.search_video = watched  # type: ignore[assignment]
    try:
        for index in range(count):
            if index % 4 == 3:  # a still: a frame of never-marked footage
                frame = _never_marked(index, work)
                import av

                with av.open(str(frame)) as c:
                    image = next(c.decode(video=0)).to_image()
                path = work / f"still-{index}.{'png' if index % 8 == 3 else 'jpg'}"
                image.save(path)
            else:
                path = _never_marked(index, work)
            start = time.process_time()
            reading = read_watermark(path)
            cpus.append(time.process_time() - start)
            positives += reading.found
            confidences.append(reading.confidence)
            z = scores[-1] if path.suffix == ".mp4" and scores else float("nan")
            print(
                f"  {index:>3} {path.name:<22} found={reading.found} "
                f"confidence={reading.confidence:.3f} score={z:.2f}",
                flush=True,
            )
    finally:
        invisible.search_video = original
    print(f"\nnever-marked: {count} clips and stills, {positives} read as marked")
    print(
        f"  highest confidence {max(confidences):.3f} (median {statistics.median(confidences):.3f})"
    )
    if scores:
        print(
            f"  highest detection score {max(scores):.2f} (believed from {search.DETECTION_Z:g}), "
            f"median {statistics.median(scores):.2f}"
        )
    print(f"  read CPU median {statistics.median(cpus):.2f} s, max {max(cpus):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="720p,portrait,1080p")
    parser.add_argument("--seconds", default="2,4,8")
    parser.add_argument("--kinds", default="card,textured")
    parser.add_argument("--attacks", default="")
    parser.add_argument("--never", type=int, default=200)
    parser.add_argument("--never-only", action="store_true")
    parser.add_argument("--skip-never", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="studio-watermark-attacks-"))
    if not args.never_only:
        robustness(args, work)
    if not args.skip_never:
        false_positives(args.never, work)


if __name__ == "__main__":
    main()
