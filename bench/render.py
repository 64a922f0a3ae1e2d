"""The offline renderer against a bare encode of the same frames, at two revisions.

    .venv/bin/python bench/render.py --runs 3                 # e24ec67 (before) vs the tree
    .venv/bin/python bench/render.py --runs 3 REV_A REV_B     # any two revisions

For each revision (checked out in a temporary git worktree; "." is the working tree) a
child process renders a 10 s 1080p card (``--seconds``, ``--size``) with render_title_card,
decodes that file into memory, and encodes the decoded frames again with the same libx264
settings (the bare encode, as the issue measures it), and also encodes the renderer's own
frames, drawn into memory first ("own": what the render would cost if drawing were free;
drawn frames cost x264 about twice what its decoded output does). Revisions
alternate run by run, so a busy machine slows both alike. Prints the median of ``--runs``
of CPU seconds (process time: all threads, the honest measure on a shared machine) and
wall seconds, the render / bare-encode ratio of each, and the spread (max-min) of the
CPU ratio as the noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import revision_trees  # noqa: E402

BEFORE = "e24ec67"

CHILD = r"""
import json, sys, time
from fractions import Fraction
import av
from media import render
width, height, seconds, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
kwargs = dict(prompt="a lighthouse in a storm at night, waves breaking on the rocks",
              width=width, height=height, seconds=seconds, fps=24, seed=7)
wall, cpu = time.perf_counter(), time.process_time()
render.render_title_card(out_path=out, **kwargs)
render_wall, render_cpu = time.perf_counter() - wall, time.process_time() - cpu
with av.open(out) as container:
    frames = list(container.decode(video=0))
wall, cpu = time.perf_counter(), time.process_time()
with av.open(out + ".bare.mp4", "w", format="mp4") as container:
    stream = render._h264_stream(container, 24)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = Fraction(1, 24)
    for i, frame in enumerate(frames):
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
bare_wall, bare_cpu = time.perf_counter() - wall, time.process_time() - cpu
del frames
if hasattr(render, "_card_frames"):
    own = list(render._card_frames(reference_image=None, **kwargs))
else:  # before: PIL planes, then one ndarray copy into a new frame each
    own = [render._video_frame(p, i)
           for i, p in enumerate(render._card_planes(reference_image=None, **kwargs))]
cpu = time.process_time()
with av.open(out + ".own.mp4", "w", format="mp4") as container:
    stream = render._h264_stream(container, 24)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.time_base = Fraction(1, 24)
    for i, frame in enumerate(own):
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
own_cpu = time.process_time() - cpu
print(json.dumps(dict(render_cpu=render_cpu, render_wall=render_wall, bare_cpu=bare_cpu,
                      bare_wall=bare_wall, own_cpu=own_cpu, frames=len(own))))
"""


def _measure(
    tree: Path, width: int, height: int, seconds: float, scratch: Path
) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(width), str(height), str(seconds), str(scratch)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revs", nargs="*", default=[BEFORE, "."])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with (
        tempfile.TemporaryDirectory(prefix="studio-render-") as tmp,
        revision_trees(args.revs, Path(tmp)) as trees,
    ):
        rows: dict[str, list[dict[str, float]]] = {rev: [] for rev in args.revs}
        for run in range(args.runs):
            for rev, tree in trees.items():
                row = _measure(tree, width, height, args.seconds, Path(tmp) / "card.mp4")
                rows[rev].append(row)
                print(
                    f"run {run + 1} {rev}: render {row['render_cpu']:.2f} s CPU "
                    f"({row['render_wall']:.2f} s wall), bare encode {row['bare_cpu']:.2f} s "
                    f"CPU ({row['bare_wall']:.2f} s wall), encode of its own frames "
                    f"{row['own_cpu']:.2f} s CPU, {int(row['frames'])} frames",
                    flush=True,
                )
    print(
        f"\n{args.seconds:g} s {args.size} at 24 fps, median of {args.runs}"
        f"\n{'revision':<10} {'render CPU':>11} {'bare CPU':>9} {'ratio CPU':>10} "
        f"{'(spread)':>9} {'render wall':>12} {'bare wall':>10} {'ratio wall':>11} "
        f"{'own CPU':>8} {'ratio own':>10}"
    )
    for rev, results in rows.items():
        cpu_ratios = [r["render_cpu"] / r["bare_cpu"] for r in results]
        wall_ratios = [r["render_wall"] / r["bare_wall"] for r in results]

        def med(key: str, results: list[dict[str, float]] = results) -> float:
            return statistics.median(r[key] for r in results)

        spread = max(cpu_ratios) - min(cpu_ratios)
        print(
            f"{rev:<10} {med('render_cpu'):>10.2f}s {med('bare_cpu'):>8.2f}s "
            f"{statistics.median(cpu_ratios):>9.2f}x {spread:>8.2f}x "
            f"{med('render_wall'):>11.2f}s {med('bare_wall'):>9.2f}s "
            f"{statistics.median(wall_ratios):>10.2f}x {med('own_cpu'):>7.2f}s "
            f"{statistics.median(r['render_cpu'] / r['own_cpu'] for r in results):>9.2f}x"
        )


if __name__ == "__main__":
    main()
