"""What object storage costs a job: Generate to done for the same clip on local storage and
on an S3-compatible server on loopback (moto's server mode, in its own process), alternating,
median of N, and the ratio.

Usage: .venv/bin/python bench/storage.py [--runs 3] [--resolution 1080p --seconds 10]

Every step of the pipeline runs in this process, one after the other, as the workers would
run them (tests/pipeline.py), so the figure is the steps' own work (render, download into
storage, finishing's reads and writes) without queueing noise. On S3 every file goes up to
the bucket and finishing copies its inputs down to scratch and its results up again.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resolution", default="1080p")
    parser.add_argument("--aspect-ratio", default="16:9")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="studio-bench-storage-"))
    # A bench is a local trial: no SECRET_KEY needed, plain HTTP on loopback.
    os.environ.setdefault("DEBUG", "1")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_VAR_DIR=str(var),
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench-secret",
        AWS_DEFAULT_REGION="us-east-1",
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("CELERY_BROKER_URL", None)
    port = _free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _bench(args, var, port)
    finally:
        moto.terminate()
        moto.wait(10)


def _bench(args: argparse.Namespace, var: Path, port: int) -> None:
    import boto3
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test.utils import override_settings

    from generations import services
    from generations.spec import GenerationSpec
    from tests.objectstore import S3Server, storage_settings
    from tests.pipeline import run_inline

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    # 1080p and 10 s clips are the Pro plan's (Plus stops at 720p).
    from accounts.models import Plan
    from accounts.plans import account_get_for_user, plan_default

    plan_default()
    account = account_get_for_user(user)
    account.plan = Plan.objects.get(name="Pro")
    account.save()
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    while True:
        try:
            client.create_bucket(Bucket="bench")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    s3 = S3Server(server=None, host="127.0.0.1", port=port)  # type: ignore[arg-type]

    def job(run: int) -> float:
        start = time.perf_counter()
        generation = services.generation_create(
            owner=user,
            spec=GenerationSpec(
                prompt=f"a lighthouse in a storm, run {run} {uuid.uuid4().hex[:6]}",
                resolution=args.resolution,
                aspect_ratio=args.aspect_ratio,
                seconds=args.seconds,
                seed=run,
            ),
        )
        run_inline(generation)
        return time.perf_counter() - start

    local, remote = [], []
    for run in range(args.runs):
        local.append(job(run))
        with override_settings(STORAGES=storage_settings(s3, "bench"), STUDIO_S3_SERVE="stream"):
            remote.append(job(run))
        print(
            f"run {run + 1}: local {local[-1]:.2f} s, s3 {remote[-1]:.2f} s, "
            f"ratio {remote[-1] / local[-1]:.3f}"
        )
    ratios = [r / lo for r, lo in zip(remote, local, strict=True)]
    print(
        f"{args.resolution} {args.seconds} s, median of {args.runs}: local "
        f"{statistics.median(local):.2f} s, s3 {statistics.median(remote):.2f} s, "
        f"ratio {statistics.median(ratios):.3f}"
        f" (per-run ratios {min(ratios):.3f}-{max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
