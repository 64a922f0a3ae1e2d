"""Soak: many short jobs through the embedded default (SQLite, the filesystem broker, one
real worker), then count what was lost, stuck or duplicated and whether the worker lives.

Usage: .venv/bin/python bench/soak.py [--jobs 1000] [--timeout 7200]

A fresh folder holds SQLite, media and the broker. Jobs are the smallest the plan allows
(480p, 1:1, 1 s) on the Pro plan (5 at a time). Prints the counts and exits 1 unless every
job succeeded exactly once with the worker still alive and no message set aside.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_worker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=7200.0)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="studio-soak-"))
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_VAR_DIR=str(var),
        STUDIO_POLL_MIN_SECONDS="0.2",
        STUDIO_POLL_MAX_SECONDS="1",
        STUDIO_REAPER_INTERVAL="5",
    )
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from accounts.models import Plan
    from accounts.plans import account_get_for_user
    from generations import services
    from generations.models import Generation, GenerationEvent, Video
    from generations.spec import GenerationSpec
    from generations.states import FINAL_STATES, State

    user = User.objects.create_user("soak")
    account = account_get_for_user(user)
    account.plan = Plan.objects.get(name="Pro")
    account.save()
    worker = start_worker(var)
    started = time.monotonic()
    try:
        for n in range(args.jobs):
            spec = GenerationSpec(
                prompt=f"soak job {n}", resolution="480p", aspect_ratio="1:1", seconds=1, seed=n
            )
            services.generation_create(owner=user, spec=spec)
        deadline = started + args.timeout
        active = Generation.objects.exclude(state__in=FINAL_STATES)
        while active.exists() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(1)
        elapsed = time.monotonic() - started
        alive = worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(60)
    counts = {str(s): Generation.objects.filter(state=s).count() for s in State}
    states = {s: n for s, n in counts.items() if n}
    runs = sorted(
        (g.finished_at - g.admitted_at).total_seconds()
        for g in Generation.objects.filter(state=State.SUCCEEDED)
        if g.finished_at and g.admitted_at
    )
    submitted_twice = sum(
        1
        for g in Generation.objects.all()
        if GenerationEvent.objects.filter(generation=g, message="submitted").count() > 1
    )
    extra_videos = Video.objects.count() - Generation.objects.filter(state=State.SUCCEEDED).count()
    corrupt = var / "broker" / "corrupt"
    set_aside = len(list(corrupt.iterdir())) if corrupt.exists() else 0
    print(f"jobs {args.jobs} in {elapsed:.0f} s ({args.jobs / elapsed:.2f} jobs/s)")
    print(f"final states {states}")
    if runs:
        p50, p95 = runs[len(runs) // 2], runs[min(len(runs) - 1, int(len(runs) * 0.95))]
        print(f"admitted to done: median {p50:.1f} s, p95 {p95:.1f} s, max {runs[-1]:.1f} s")
    print(f"not final (lost or stuck) {Generation.objects.exclude(state__in=FINAL_STATES).count()}")
    print(f"submitted twice {submitted_twice}, extra videos {extra_videos}")
    print(f"messages set aside {set_aside}, worker alive at the end {alive}")
    ok = states == {str(State.SUCCEEDED): args.jobs} and alive and not submitted_twice
    sys.exit(0 if ok and not extra_videos and not set_aside else 1)


if __name__ == "__main__":
    main()
