"""The test suite's wall time and tests per second at two revisions, side by side.

Each revision is checked out in a temporary git worktree and its suite is run with this
virtualenv's Python, the same way `./dev test` runs it (PostgreSQL and Redis when they
answer), alternating revisions so that a busy machine slows both alike. Prints the median
of ``--runs`` runs for each and the ratio.

    .venv/bin/python bench/suite.py --runs 3            # 4854a74 (before issue 9) vs HEAD
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "4854a74"
PASSED = re.compile(r"(\d+) passed")


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if _answers(5432):
        env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/studio")
    if _answers(6379):
        env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/5")
        env.setdefault("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/6")
    return env


def _run(tree: Path) -> tuple[float, int]:
    """One run of the suite in ``tree``: (wall seconds, tests passed). Raises on a failure."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
        cwd=tree,
        env=_env(),
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    if done.returncode != 0:
        raise RuntimeError(f"the suite failed in {tree}: {tail}")
    match = PASSED.search(tail)
    return wall, int(match[1]) if match else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revs", nargs="*", default=[BEFORE, "HEAD"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="studio-suite-") as tmp:
        trees = {}
        for rev in args.revs:
            tree = Path(tmp) / rev.replace("/", "-")
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(tree), rev], cwd=ROOT, check=True
            )
            trees[rev] = tree
        results: dict[str, list[tuple[float, int]]] = {rev: [] for rev in args.revs}
        try:
            for run in range(args.runs):
                for rev, tree in trees.items():
                    wall, passed = _run(tree)
                    results[rev].append((wall, passed))
                    print(f"run {run + 1} {rev}: {passed} passed in {wall:.1f} s", flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    print(f"\n{'revision':<10} {'tests':>6} {'median wall':>12} {'tests/s':>8} {'ratio':>6}")
    first = statistics.median(w for w, _ in results[args.revs[0]])
    for rev, rows in results.items():
        wall = statistics.median(w for w, _ in rows)
        tests = max(p for _, p in rows)
        print(f"{rev:<10} {tests:>6} {wall:>11.1f}s {tests / wall:>8.2f} {first / wall:>5.2f}x")


if __name__ == "__main__":
    main()
