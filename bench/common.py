"""What the benches share: a real Celery worker beside the bench, as `./dev run` starts it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_worker(var: Path, tree: Path = ROOT) -> subprocess.Popen[bytes]:
    """A worker on every Studio queue with this process's environment (settings already
    put in os.environ), running ``tree``'s code, logging to ``var/worker.log``; returns
    once it is ready."""
    log_path = var / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "studio",
            "worker",
            "-Q",
            "priority,standard,media",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
        ],
        cwd=tree,
        env=os.environ.copy(),
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    while b" ready." not in log_path.read_bytes():
        if worker.poll() is not None:
            raise SystemExit(f"the worker did not start:\n{log_path.read_text()[-2000:]}")
        time.sleep(0.1)
    return worker


@contextmanager
def revision_trees(revs: list[str], tmp: Path) -> Iterator[dict[str, Path]]:
    """Each revision checked out in a temporary git worktree under ``tmp`` ("." is this
    working tree), removed again however the bench ends."""
    trees: dict[str, Path] = {}
    try:
        for rev in revs:
            if rev == ".":
                trees[rev] = ROOT
                continue
            tree = tmp / rev.replace("/", "-")
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(tree), rev], cwd=ROOT, check=True
            )
            trees[rev] = tree
        yield trees
    finally:
        for rev, tree in trees.items():
            if rev != ".":
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
