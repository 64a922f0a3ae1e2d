"""What one Verify of a decompression-bomb image costs, before and after the pixel limit.

Usage: .venv/bin/python bench/verify_bomb.py [--side 12000] [--runs 3]

Makes a PNG of side × side grey pixels (about 140 KB at 12000), then, each in a fresh
process so that peak memory is its own, times the two paths a Verify request could take on
it: reading the invisible watermark from the decoded pixels (what Verify did for any size)
and reading the frame size from the header (what it does now before refusing). Prints the
median wall time and peak memory of each, and their ratio; runs alternate, median of N.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

# (imports, timed call): the imports are left out of the time.
CHILD = {
    "decode (read_watermark)": ("from media.watermark import read_watermark", "read_watermark(p)"),
    "header (frame_pixels)": ("from media.probe import frame_pixels", "frame_pixels(p)"),
}


def _run(code: tuple[str, str], path: Path) -> tuple[float, float]:
    setup, call = code
    script = (
        "import resource, sys, time, warnings; warnings.simplefilter('ignore');"
        f"{setup}; p = sys.argv[1]; t = time.perf_counter();"
        f"{call}; print(time.perf_counter() - t,"
        " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    seconds, megabytes = done.stdout.split()
    return float(seconds), float(megabytes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side", type=int, default=12000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bomb.png"
        Image.MAX_IMAGE_PIXELS = None
        Image.new("L", (args.side, args.side), 128).save(path, "PNG")
        print(f"{args.side}×{args.side} PNG, {path.stat().st_size / 1024:.0f} KB")
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in CHILD}
        for _ in range(args.runs):
            for name, code in CHILD.items():
                results[name].append(_run(code, path))
        medians = {}
        for name, runs in results.items():
            seconds = statistics.median(r[0] for r in runs)
            megabytes = statistics.median(r[1] for r in runs)
            spread = max(r[0] for r in runs) - min(r[0] for r in runs)
            medians[name] = seconds
            print(f"  {name:26} {seconds:8.3f} s (spread {spread:.3f})  peak {megabytes:6.0f} MB")
        decode, header = medians.values()
        print(f"  ratio decode / header: {decode / max(header, 1e-6):.0f}x")


if __name__ == "__main__":
    main()
