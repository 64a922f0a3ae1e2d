"""What one job on an OpenAI-compatible endpoint costs, with and without webhooks.

Usage: .venv/bin/python bench/openai_compat.py [--job-seconds 60] [--runs 1]
       .venv/bin/python bench/openai_compat.py --compare e24ec67 . --runs 3  # polling only

With ``--compare REV_A REV_B`` it runs itself (polling only) with each revision's code (a
temporary git worktree; "." is the working tree), alternating run by run, and prints both
side by side: the median calls and delay of ``--runs`` and their spread (max - min).

Starts the loopback ``/v1/videos`` server from the tests (each job renders for
``--job-seconds`` of wall time), a real Celery worker with the production poll settings
(STUDIO_POLL_MIN_SECONDS=1, STUDIO_POLL_MAX_SECONDS=30 unless set) and, for the webhook
runs, Studio's WSGI app on loopback for the server to call. Uses a fresh folder for SQLite,
media and the filesystem broker unless DATABASE_URL / CELERY_BROKER_URL are set.

Prints, per mode: the server calls one generation cost (by kind) and the delay from the
moment the server finished the render to the moment the video was in the creator's gallery
(the bench looks every 20 ms), and that delay as a fraction of the job's length.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_worker  # noqa: E402


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def compare(revs: list[str], runs: int, job_seconds: float) -> None:
    """Polling only, one run at a time per revision, alternating; the figures side by side."""
    import json
    import subprocess

    with tempfile.TemporaryDirectory(prefix="studio-openai-") as tmp:
        trees: dict[str, Path] = {}
        for rev in revs:
            if rev == ".":
                trees[rev] = ROOT
                continue
            trees[rev] = Path(tmp) / rev.replace("/", "-")
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(trees[rev]), rev],
                cwd=ROOT,
                check=True,
            )
        rows: dict[str, list[dict[str, float]]] = {rev: [] for rev in revs}
        try:
            for run in range(runs):
                for rev, tree in trees.items():
                    done = subprocess.run(
                        [sys.executable, __file__, "--job-seconds", str(job_seconds)]
                        + ["--runs", "1", "--polling-only", "--json", "--tree", str(tree)],
                        cwd=tree,
                        env={**os.environ, "PYTHONPATH": str(tree)},
                        capture_output=True,
                        text=True,
                    )
                    if done.returncode:
                        raise SystemExit(f"{rev}: {done.stderr[-3000:]}")
                    row = json.loads(done.stdout.strip().splitlines()[-1])
                    rows[rev].append(row)
                    print(
                        f"run {run + 1} {rev}: {row['calls']:g} server calls, completion -> "
                        f"gallery {row['delay']:.2f} s (seen done after {row['seen']:.2f} s)",
                        flush=True,
                    )
        finally:
            for rev, tree in trees.items():
                if rev != ".":
                    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    print(
        f"\npolling only, {job_seconds:g} s job, median of {runs}"
        f"\n{'revision':<10} {'calls':>6} {'(spread)':>9} {'done->gallery':>14} {'(spread)':>9}"
        f" {'done->seen':>11}"
    )
    for rev, results in rows.items():
        calls = [r["calls"] for r in results]
        delays = [r["delay"] for r in results]
        print(
            f"{rev:<10} {statistics.median(calls):>6g} {max(calls) - min(calls):>9g} "
            f"{statistics.median(delays):>13.2f}s {max(delays) - min(delays):>8.2f}s"
            f" {statistics.median(r['seen'] for r in results):>10.2f}s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job-seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--compare", nargs=2, metavar="REV")
    parser.add_argument("--polling-only", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON line (polling)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="run this tree's code")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.runs, args.job_seconds)
        return
    sys.path.insert(0, str(args.tree))

    var = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    # A bench is a local trial: no SECRET_KEY needed, plain HTTP on loopback.
    os.environ.setdefault("DEBUG", "1")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_VAR_DIR=str(var),
        STUDIO_POLL_MIN_SECONDS=os.environ.get("STUDIO_POLL_MIN_SECONDS", "1"),
        STUDIO_POLL_MAX_SECONDS=os.environ.get("STUDIO_POLL_MAX_SECONDS", "30"),
        ALLOWED_HOSTS="*",
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.management import call_command

    from generations import selectors, services
    from generations.spec import GenerationSpec
    from providers.openai_compat.models import VideoEndpoint
    from tests.providers.openai_compat.server import FakeVideoServer

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-openai")
    web = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_QuietHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    worker = start_worker(var, args.tree)
    try:
        for webhooks in (False,) if args.polling_only else (False, True):
            calls: list[int] = []
            delays: list[float] = []
            seen_delays: list[float] = []
            kinds: dict[str, int] = {}
            for run in range(args.runs):
                with FakeVideoServer(render_seconds=args.job_seconds) as server:
                    slug = f"bench{int(webhooks)}{run}{os.getpid()}"
                    VideoEndpoint.objects.filter(slug=slug).delete()
                    server.endpoint(
                        slug,
                        sizes="1280x720",
                        webhook_secret=server.webhook_secret if webhooks else "",
                    )
                    if webhooks:
                        port = web.server_port
                        server.webhook_url = f"http://127.0.0.1:{port}/webhooks/openai/{slug}/"
                    generation = services.generation_create(
                        owner=user,
                        spec=GenerationSpec(
                            prompt=f"bench run {run}",
                            resolution="720p",
                            aspect_ratio="16:9",
                            seconds=4,
                            provider=f"openai-{slug}",
                        ),
                    )
                    gallery = selectors.video_list_for_user(user).filter(generation=generation)
                    deadline = time.time() + args.job_seconds * 3 + 60
                    while not gallery.exists():
                        generation.refresh_from_db()
                        # Succeeded between the two looks: the next look finds the video.
                        ended = generation.is_final and generation.state != "succeeded"
                        if ended or time.time() > deadline:
                            raise SystemExit(
                                f"job ended as {generation.state}: {generation.error_message}"
                            )
                        time.sleep(0.02)
                    in_gallery = time.time()
                    generation.refresh_from_db()
                    finished = server.completed_at[generation.provider_job_id]
                    delays.append(in_gallery - finished)
                    seen = generation.events.filter(to_state="downloading").first()
                    if seen is not None:  # the look that found it done; the rest is finishing
                        seen_delays.append(seen.at.timestamp() - finished)
                    calls.append(sum(server.calls.values()))
                    for kind, count in server.calls.items():
                        kinds[kind] = kinds.get(kind, 0) + count
                    assert len(server.jobs) == 1, server.jobs
            if args.json:
                import json

                calls_median = statistics.median(calls)
                seen = statistics.median(seen_delays) if seen_delays else float("nan")
                delay = statistics.median(delays)
                print(json.dumps({"calls": calls_median, "delay": delay, "seen": seen}))
                continue
            mode = "with webhooks" if webhooks else "polling only "
            per_kind = ", ".join(f"{k} {v / args.runs:g}" for k, v in sorted(kinds.items()))
            delay = statistics.median(delays)
            seen = statistics.median(seen_delays) if seen_delays else float("nan")
            print(
                f"{mode}: {statistics.median(calls):g} server calls per {args.job_seconds:g} s job "
                f"({per_kind}); completion -> gallery {delay:.2f} s "
                f"({delay / args.job_seconds:.1%} of the job; seen done after {seen:.2f} s)"
            )
    finally:
        worker.terminate()
        worker.wait(30)
        web.shutdown()


if __name__ == "__main__":
    main()
