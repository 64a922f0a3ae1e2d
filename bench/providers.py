"""What one job on each hosted provider costs in calls, and how long its video takes to
reach the library once the provider has finished it (polling; webhooks are hints that
only shorten the wait, see the README).

Usage: .venv/bin/python bench/providers.py [--job-seconds 60] [--runs 1] [--only runway,luma]

Starts each provider's loopback server from the tests (each job renders for
``--job-seconds`` of wall time) and a real Celery worker with the production poll settings
(STUDIO_POLL_MIN_SECONDS=1, STUDIO_POLL_MAX_SECONDS=30 unless set). Uses a fresh folder for
SQLite, media and the filesystem broker unless DATABASE_URL / CELERY_BROKER_URL are set.

Prints, per provider: the server calls one generation made (by kind) and the delay from the
moment the server finished the render to the moment the video was in the creator's library
(the bench looks every 20 ms), median over the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_worker  # noqa: E402


def _setups(var: Path) -> dict[str, Any]:
    from providers.fal.models import FalAccount
    from providers.luma.models import LumaAccount
    from providers.replicate.models import ReplicateAccount
    from providers.runway.models import RunwayAccount
    from providers.veo.models import VeoAccount
    from tests.providers.fal.server import API_KEY as FAL_KEY
    from tests.providers.fal.server import FalServer
    from tests.providers.luma.server import API_KEY as LUMA_KEY
    from tests.providers.luma.server import LumaServer
    from tests.providers.replicate.server import API_TOKEN, ReplicateServer
    from tests.providers.runway.server import API_KEY as RUNWAY_KEY
    from tests.providers.runway.server import RunwayServer
    from tests.providers.veo.server import VeoServer, service_account_file

    def veo_account(s: Any) -> None:
        key = service_account_file(var, s.token_uri)
        VeoAccount.objects.create(project="bench", credentials_file=str(key), base_url=s.base_url)

    return {
        "runway": (
            RunwayServer,
            lambda s: RunwayAccount.objects.create(api_key=RUNWAY_KEY, base_url=s.base_url),
            {"model": "gen4.5", "seconds": 5},
            lambda s: next(iter(s.tasks.values())),
        ),
        "luma": (
            LumaServer,
            lambda s: LumaAccount.objects.create(api_key=LUMA_KEY, base_url=s.base_url),
            {"model": "ray-2", "seconds": 5},
            lambda s: next(iter(s.jobs.values())),
        ),
        "fal": (
            FalServer,
            lambda s: FalAccount.objects.create(api_key=FAL_KEY, base_url=s.base_url),
            {"model": "kling-2.1", "seconds": 5},
            lambda s: next(iter(s.jobs.values())),
        ),
        "replicate": (
            ReplicateServer,
            lambda s: ReplicateAccount.objects.create(api_key=API_TOKEN, base_url=s.base_url),
            {"model": "wan-video/wan-2.2-t2v-fast", "seconds": 5},
            lambda s: next(iter(s.jobs.values())),
        ),
        "veo": (
            VeoServer,
            veo_account,
            {"model": "veo-3.1-generate-001", "seconds": 8},
            lambda s: next(iter(s.jobs.values())),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--job-seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", default="")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_VAR_DIR=str(var),
        STUDIO_POLL_MIN_SECONDS=os.environ.get("STUDIO_POLL_MIN_SECONDS", "1"),
        STUDIO_POLL_MAX_SECONDS=os.environ.get("STUDIO_POLL_MAX_SECONDS", "30"),
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from accounts.plans import account_get_for_user
    from generations import selectors, services
    from generations.spec import GenerationSpec

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-providers")
    plan = account_get_for_user(user).plan
    plan.max_seconds, plan.concurrent_jobs = 20, 5
    plan.save()
    setups = _setups(var)
    wanted = [p for p in (args.only.split(",") if args.only else setups) if p]
    worker = start_worker(var)
    try:
        for slug in wanted:
            server_cls, make_account, fields, job_of = setups[slug]
            calls: list[int] = []
            delays: list[float] = []
            kinds: dict[str, int] = {}
            for run in range(args.runs):
                with server_cls(render_seconds=args.job_seconds) as server:
                    make_account(server)
                    generation = services.generation_create(
                        owner=user,
                        spec=GenerationSpec(prompt=f"bench {slug} {run}", provider=slug, **fields),
                    )
                    library = selectors.video_list_for_user(user).filter(generation=generation)
                    deadline = time.time() + args.job_seconds * 3 + 60
                    while not library.exists():
                        generation.refresh_from_db()
                        ended = generation.is_final and generation.state != "succeeded"
                        if ended or time.time() > deadline:
                            raise SystemExit(
                                f"{slug}: ended as {generation.state}: {generation.error_message}"
                            )
                        time.sleep(0.02)
                    in_library = time.time()
                    job = job_of(server)
                    delays.append(in_library - (job.created_at + args.job_seconds))
                    counted = {k: v for k, v in server.calls.items() if v}
                    calls.append(sum(counted.values()))
                    for kind, count in counted.items():
                        kinds[kind] = kinds.get(kind, 0) + count
                _delete_accounts()
            per_kind = ", ".join(f"{k} {v / args.runs:g}" for k, v in sorted(kinds.items()))
            delay = statistics.median(delays)
            print(
                f"{slug:9s}: {statistics.median(calls):g} calls per {args.job_seconds:g} s job "
                f"({per_kind}); done -> library {delay:.2f} s "
                f"({delay / args.job_seconds:.1%} of the job), polling"
            )
    finally:
        worker.terminate()
        worker.wait(30)


def _delete_accounts() -> None:
    from providers.fal.models import FalAccount
    from providers.luma.models import LumaAccount
    from providers.replicate.models import ReplicateAccount
    from providers.runway.models import RunwayAccount
    from providers.veo.models import VeoAccount

    for model in (RunwayAccount, LumaAccount, FalAccount, ReplicateAccount, VeoAccount):
        model.objects.all().delete()


if __name__ == "__main__":
    main()
