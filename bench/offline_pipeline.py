"""Time from Generate to a finished video on the offline renderer, through a real worker.

Usage: .venv/bin/python bench/offline_pipeline.py [--runs 3] [--resolution 720p --seconds 5]

Uses a fresh folder for SQLite, media and the filesystem broker unless DATABASE_URL /
CELERY_BROKER_URL are set. Prints, per run, the wall time from generation_create to
`succeeded`, the bare render time of the same clip (render_title_card alone) and their
ratio: what the pipeline (queueing, polling, copying, probing, poster) costs on top.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_worker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resolution", default="720p")
    parser.add_argument("--aspect-ratio", default="16:9")
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    # A bench is a local trial: no SECRET_KEY needed, plain HTTP on loopback.
    os.environ.setdefault("DEBUG", "1")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_VAR_DIR=str(var),
        STUDIO_POLL_MIN_SECONDS=os.environ.get("STUDIO_POLL_MIN_SECONDS", "1"),
    )
    import django

    django.setup()
    from django.core.management import call_command

    from generations import services
    from generations.models import Generation
    from generations.spec import GenerationSpec
    from media.render import render_title_card

    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench")
    worker = start_worker(var)
    try:
        pipeline, bare = [], []
        for run in range(args.runs):
            start = time.perf_counter()
            g = services.generation_create(
                owner=user,
                spec=GenerationSpec(
                    prompt=f"a lighthouse in a storm, run {run}",
                    resolution=args.resolution,
                    aspect_ratio=args.aspect_ratio,
                    seconds=args.seconds,
                    seed=run,
                ),
            )
            while not Generation.objects.get(pk=g.pk).is_final:
                time.sleep(0.02)
            pipeline.append(time.perf_counter() - start)
            g.refresh_from_db()
            assert g.state == "succeeded", g.error_message
            width, height = g.size
            start = time.perf_counter()
            render_title_card(
                out_path=var / "bare.mp4",
                prompt=g.prompt,
                width=width,
                height=height,
                seconds=g.seconds,
                fps=g.fps,
                seed=run,
            )
            bare.append(time.perf_counter() - start)
            print(f"run {run}: generate→done {pipeline[-1]:.2f} s, bare render {bare[-1]:.2f} s")
        p, b = statistics.median(pipeline), statistics.median(bare)
        print(
            f"median: generate→done {p:.2f} s; bare render {b:.2f} s; ratio {p / b:.2f} "
            f"({args.seconds} s {args.resolution} {args.aspect_ratio}, 24 fps)"
        )
    finally:
        worker.terminate()
        worker.wait(30)


if __name__ == "__main__":
    main()
