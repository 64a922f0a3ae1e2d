"""Generate → done on the offline renderer against the bare render, at two revisions.

    .venv/bin/python bench/generate.py --runs 3                       # e24ec67 vs the tree
    .venv/bin/python bench/generate.py --runs 3 --broker redis://127.0.0.1:6379/4

For each revision (a temporary git worktree; "." is the working tree) a child process
starts a real Celery worker from that tree, as ``./dev run`` does (the embedded default: a
fresh folder with SQLite and the filesystem broker, unless ``--broker`` names Redis and
DATABASE_URL is set), then runs one generation at a time from generation_create to
``succeeded`` (5 s 720p unless ``--seconds`` / ``--resolution``), and renders the same
clip bare (render_title_card alone, in the child, while the worker idles). Revisions
alternate run by run, so a busy machine slows both alike.

Prints the medians of ``--runs``: Generate → done, the bare render, their ratio with its
spread (max - min) as the noise, and where the time went, from the job's event log:
queued → running (submit), running → downloading (the render and the wait for the poll
that sees it), downloading → finishing (copying), finishing → succeeded (finishing).
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
PHASES = ("submit", "render+wait", "download", "finish")

CHILD = r"""
import json, os, sys, time
from pathlib import Path
tree, runs, resolution, seconds = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sys.path.insert(0, str(tree))
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from generations import services
from generations.models import Generation
from generations.spec import GenerationSpec
from media.render import render_title_card
import subprocess

call_command("migrate", verbosity=0)
user, _ = get_user_model().objects.get_or_create(username=f"bench-generate-{os.getpid()}")
var = Path(os.environ["STUDIO_VAR_DIR"])
log_path = var / "worker.log"
worker = subprocess.Popen(  # from this tree, as ./dev run starts it
    [sys.executable, "-m", "celery", "-A", "studio", "worker", "-Q", "priority,standard,media",
     "--concurrency", "2", "--loglevel", "INFO"],
    cwd=tree, env=os.environ.copy(), stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
while b" ready." not in log_path.read_bytes():
    if worker.poll() is not None:
        raise SystemExit(log_path.read_text()[-2000:])
    time.sleep(0.1)
try:
    # One job first, untimed: the worker's first task imports and opens everything.
    warm = services.generation_create(owner=user, spec=GenerationSpec(
        prompt="warm up", resolution="480p", aspect_ratio="16:9", seconds=1, seed=99))
    while not Generation.objects.get(pk=warm.pk).is_final:
        time.sleep(0.02)
    for run in range(runs):
        start = time.perf_counter()
        g = services.generation_create(owner=user, spec=GenerationSpec(
            prompt=f"a lighthouse in a storm, run {run}", resolution=resolution,
            aspect_ratio="16:9", seconds=seconds, seed=run))
        while not Generation.objects.get(pk=g.pk).is_final:
            time.sleep(0.02)
        total = time.perf_counter() - start
        g.refresh_from_db()
        assert g.state == "succeeded", g.error_message
        at = {}
        for event in g.events.order_by("at", "id"):
            at.setdefault(event.to_state or event.message, event.at)
        def span(a, b):
            return (at[b] - at[a]).total_seconds() if a in at and b in at else float("nan")
        width, height = g.size
        bare_start = time.perf_counter()
        render_title_card(out_path=var / "bare.mp4", prompt=g.prompt, width=width,
                          height=height, seconds=g.seconds, fps=g.fps, seed=run)
        bare = time.perf_counter() - bare_start
        print(json.dumps({"total": total, "bare": bare,
                          "submit": span("queued", "running"),
                          "render+wait": span("running", "downloading"),
                          "download": span("downloading", "finishing"),
                          "finish": span("finishing", "succeeded")}), flush=True)
finally:
    worker.terminate()
    worker.wait(30)
"""


def _child(tree: Path, runs: int, args: argparse.Namespace) -> list[dict[str, float]]:
    var = Path(tempfile.mkdtemp(prefix="studio-generate-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "STUDIO_VAR_DIR": str(var),
        "STUDIO_POLL_MIN_SECONDS": os.environ.get("STUDIO_POLL_MIN_SECONDS", "1"),
    }
    if args.broker:
        env["CELERY_BROKER_URL"] = args.broker
    else:
        env.pop("CELERY_BROKER_URL", None)
        env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(runs), args.resolution, str(args.seconds)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revs", nargs="*", default=[BEFORE, "."])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resolution", default="720p")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--broker", default="", help="redis://...; default: the embedded one")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="studio-generate-") as tmp,
        revision_trees(args.revs, Path(tmp)) as trees,
    ):
        rows: dict[str, list[dict[str, float]]] = {rev: [] for rev in args.revs}
        for run in range(args.runs):
            for rev, tree in trees.items():
                (row,) = _child(tree, 1, args)
                rows[rev].append(row)
                phases = ", ".join(f"{p} {row[p]:.2f}" for p in PHASES)
                print(
                    f"run {run + 1} {rev}: generate→done {row['total']:.2f} s, bare render "
                    f"{row['bare']:.2f} s, ratio {row['total'] / row['bare']:.2f} ({phases})",
                    flush=True,
                )
    broker = args.broker or "embedded (filesystem broker, SQLite)"
    print(
        f"\n{args.seconds} s {args.resolution}, {broker}, median of {args.runs}"
        f"\n{'revision':<10} {'done':>7} {'bare':>7} {'ratio':>6} {'(spread)':>9} "
        + " ".join(f"{p:>12}" for p in PHASES)
    )
    for rev, results in rows.items():
        ratios = [r["total"] / r["bare"] for r in results]

        def med(key: str, results: list[dict[str, float]] = results) -> float:
            return statistics.median(r[key] for r in results)

        print(
            f"{rev:<10} {med('total'):>6.2f}s {med('bare'):>6.2f}s "
            f"{statistics.median(ratios):>5.2f}x {max(ratios) - min(ratios):>8.2f}x "
            + " ".join(f"{med(p):>11.2f}s" for p in PHASES)
        )


if __name__ == "__main__":
    main()
