"""How long an idle Celery worker takes to stop on SIGTERM, started exactly as ``./dev run``
starts it (``celery -A studio worker -B -Q priority,standard,media --concurrency 2``), on
the embedded broker and on Redis; optionally beside another checkout (the baseline).

Usage: .venv/bin/python bench/shutdown.py [--runs 3] [--redis redis://127.0.0.1:6379/3]
                                          [--baseline /path/to/other/checkout]

Each run: a fresh folder (SQLite, media, the broker), the worker started and left idle
for 2 s past "ready", then SIGTERM; the time is from the signal to the process's exit.
Prints each time and the median per checkout and broker.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(tree: Path, var: Path, broker: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_"))}
    env.update(PYTHONPATH=str(tree), STUDIO_VAR_DIR=str(var), DEBUG="1", SECRET_KEY="bench-only")
    if broker != "embedded":
        env.update(CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=broker)
    return env


def stop_time(tree: Path, broker: str) -> float:
    var = Path(tempfile.mkdtemp(prefix="studio-stop-"))
    env = _env(tree, var, broker)
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput"],
        cwd=tree,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    log = var / "worker.log"
    worker = subprocess.Popen(
        [python, "-m", "celery", "-A", "studio", "worker", "-B", "-Q", "priority,standard,media"]
        + ["--concurrency", "2", "--loglevel", "WARNING", "--schedule", str(var / "beat")],
        cwd=tree,
        env={**env, "CELERY_WORKER_SEND_TASK_EVENTS": "0"},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    # WARNING level prints no "ready": wait for the pool processes instead.
    deadline = time.monotonic() + 120
    while len(_children(worker.pid)) < 3:  # two pool processes and beat
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    time.sleep(2)
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    worker.wait(120)
    return time.monotonic() - started


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis", default="", help="also measure on this Redis broker")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alike")
    args = parser.parse_args()
    trees = [("this", ROOT)] + ([("baseline", args.baseline)] if args.baseline else [])
    brokers = ["embedded"] + ([args.redis] if args.redis else [])
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.runs):  # interleaved, so that the machine's load falls on all alike
        for label, tree in trees:
            for broker in brokers:
                took = stop_time(tree, broker)
                times.setdefault((label, broker), []).append(took)
                print(f"{label:8} {broker:30} {took:5.2f} s", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for (label, broker), values in times.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"median {label:8} {broker:30} {statistics.median(values):5.2f} s  ({runs})")


if __name__ == "__main__":
    main()
