"""The API under load: 50 concurrent openai-SDK clients each create a job and follow it with
``poll()`` (which sleeps for the ``openai-poll-after-ms`` hint), against gunicorn with
PostgreSQL and Redis and a real Celery worker rendering on the offline renderer.

Usage: DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://... \\
       .venv/bin/python bench/api.py [--clients 50] [--runs 3] [--gunicorn-workers 3]

Prints per run and as the median of runs: errors, p50 / p99 of retrieve (client-side wall
time of each GET /v1/videos/{id}, which on a busy machine includes the bench's own 50 threads
waiting for the GIL; and the server's own time, its ``openai-processing-ms``), retrieves per
job (mean and max), the API's CPU per request (user + system CPU of every gunicorn
process, divided by the requests they served), and the machine's 1-minute load average
before and after each run (on a shared machine, read the figures beside it).
The rate-limit counters live in Redis (STUDIO_CACHE_URL, default the broker's host, DB 3).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_worker  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(root_pid: int) -> float:
    """User + system CPU of ``root_pid`` and its children (gunicorn's master and workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root_pid or ppid == root_pid:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def one_run(base_url: str, secret: str, clients: int, gunicorn_pid: int) -> dict[str, float]:
    import httpx2
    from openai import OpenAI

    retrieves: list[float] = []
    server_ms: list[float] = []
    per_job: list[int] = []
    errors: list[str] = []
    requests = [0]
    lock = threading.Lock()

    def client_main(i: int) -> None:
        started: dict[int, float] = {}
        count = [0]

        def on_request(request: httpx2.Request) -> None:
            started[id(request)] = time.perf_counter()

        def on_response(response: httpx2.Response) -> None:
            elapsed = time.perf_counter() - started.pop(id(response.request), time.perf_counter())
            with lock:
                requests[0] += 1
                if response.request.method == "GET":
                    retrieves.append(elapsed)
                    server_ms.append(float(response.headers.get("openai-processing-ms", "nan")))
                    count[0] += 1

        http = httpx2.Client(event_hooks={"request": [on_request], "response": [on_response]})
        client = OpenAI(base_url=base_url, api_key=secret, http_client=http, max_retries=0)
        try:
            video = client.videos.create(
                prompt=f"bench clip {i}: a lighthouse at dusk",
                model="offline",
                size="480x480",
                seconds="1",
            )
            video = client.videos.poll(video.id)
            if video.status != "completed":
                errors.append(f"{video.id} {video.status} {video.error}")
        except Exception as exc:  # a bench counts every failure, whatever it is
            errors.append(repr(exc))
        finally:
            per_job.append(count[0])
            http.close()

    load_before = os.getloadavg()[0]
    cpu_before = _cpu_seconds(gunicorn_pid)
    wall = time.perf_counter()
    threads = [threading.Thread(target=client_main, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - wall
    cpu = _cpu_seconds(gunicorn_pid) - cpu_before
    for error in errors[:5]:
        print("  error:", error)
    return {
        "errors": len(errors),
        "wall_s": wall,
        "retrieve_p50_ms": 1000 * _percentile(retrieves, 0.5),
        "retrieve_p99_ms": 1000 * _percentile(retrieves, 0.99),
        "retrieve_server_p50_ms": _percentile(server_ms, 0.5),
        "retrieve_server_p99_ms": _percentile(server_ms, 0.99),
        "retrieves_per_job": statistics.mean(per_job),
        "retrieves_per_job_max": max(per_job),
        "requests": requests[0],
        "cpu_ms_per_request": 1000 * cpu / max(1, requests[0]),
        "load_1min_before": load_before,
        "load_1min_after": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gunicorn-workers", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database for the bench.")
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        raise SystemExit("Set CELERY_BROKER_URL to a Redis URL for the bench.")
    var = Path(tempfile.mkdtemp(prefix="studio-bench-api-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        STUDIO_VAR_DIR=str(var),
        STUDIO_CACHE_URL=os.environ.get("STUDIO_CACHE_URL")
        or urlunsplit(urlsplit(broker)._replace(path="/3")),
        STUDIO_POLL_MIN_SECONDS=os.environ.get("STUDIO_POLL_MIN_SECONDS", "0.2"),
        STUDIO_POLL_MAX_SECONDS=os.environ.get("STUDIO_POLL_MAX_SECONDS", "1"),
        DATABASE_CONN_MAX_AGE=os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
        # Production settings, on plain HTTP over loopback.
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-api-secret-key-not-for-production",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    import logging

    import django

    django.setup()
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # one line per request otherwise
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from accounts.models import Account, Plan
    from api.keys import apikey_create

    call_command("migrate", verbosity=0)
    plan, _ = Plan.objects.update_or_create(
        name="Bench",
        defaults={
            "max_resolution": "1080p",
            "max_seconds": 20,
            "concurrent_jobs": args.clients,
            "watermark_free": True,
            "api_requests_per_minute": 1_000_000,
            "api_creates_per_minute": 1_000_000,
        },
    )
    user, _ = User.objects.get_or_create(username="bench-api")
    Account.objects.update_or_create(user=user, defaults={"plan": plan})
    secret = apikey_create(owner=user, name="bench").secret

    worker = start_worker(var)
    port = _free_port()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "studio.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(args.gunicorn_workers),
            "--threads",
            "4",
            # Clients sleep up to 20 s between polls (the hint): keep their connections
            # rather than racing a 2 s keep-alive close; and on a shared, overloaded
            # machine a worker's heartbeat may be late without it being stuck.
            "--keep-alive",
            "30",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        base_url = f"http://127.0.0.1:{port}/v1"
        results = []
        for run in range(args.runs):
            result = one_run(base_url, secret, args.clients, gunicorn.pid)
            results.append(result)
            print(f"run {run + 1}: " + ", ".join(f"{k}={v:.1f}" for k, v in result.items()))
        print(
            f"median of {args.runs} runs ({args.clients} clients, "
            f"{args.gunicorn_workers} gunicorn workers x 4 threads, {os.cpu_count()} CPUs):"
        )
        for name in results[0]:
            values = [r[name] for r in results]
            print(
                f"  {name}: {statistics.median(values):.1f} "
                f"(min {min(values):.1f}, max {max(values):.1f})"
            )
    finally:
        for process in (gunicorn, worker):
            process.terminate()
        for process in (gunicorn, worker):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
