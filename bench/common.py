"""What the benches share: a real Celery worker beside the bench, as `./dev run` starts it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
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
