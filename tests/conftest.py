"""Shared fixtures: isolated media folders, users, and a real Celery worker process.

Under pytest-xdist every worker (gw0, gw1, ...) is a world of its own: pytest-django gives it
its own database (test_studio_gw0, ...), ``var_dir`` is its own folder (media, work files,
the filesystem broker), and ``_use_this_workers_redis`` below gives it its own Redis DBs
for the Celery broker and result backend, in this process and in the worker processes it
starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

from studio.celery import app as celery_app
from studio.settings import filesystem_broker_options

ROOT = Path(__file__).resolve().parent.parent
# The GPU worker's own suite pins this Redis DB (workers/diffusion/tests/conftest.py).
REDIS_DBS_TAKEN = frozenset({7})
REDIS_DB_COUNT = 16  # Redis's default `databases`
WORKER_TIMINGS = {
    "STUDIO_JOB_STALL_SECONDS": "3",
    "STUDIO_REAPER_INTERVAL": "1",
    "STUDIO_POLL_MIN_SECONDS": "0.2",
    "STUDIO_POLL_MAX_SECONDS": "1",
}


def xdist_index() -> int:
    """0 for gw0 (and for a run without xdist), 1 for gw1, ..."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def _redis_db(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path else 0


def _with_redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def _use_this_workers_redis() -> None:
    """Move the Celery broker and result backend to this xdist worker's own Redis DBs.

    Worker ``gwN`` takes the N-th free pair at an even offset from the configured DBs
    (./dev test: 5 and 6, so gw0 keeps 5/6, gw1 takes 9/10, gw2 11/12, gw3 13/14), never
    a DB in REDIS_DBS_TAKEN. pytest-django has loaded the settings before any conftest
    runs, so the new URLs go to the settings, to Celery's conf (read from them) and to
    os.environ, which the worker processes the tests start inherit. The GPU workers'
    announcements and cancel flags follow the broker (an empty STUDIO_DIFFUSION_REDIS_URL)."""
    names = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
    urls = {name: getattr(settings, name) or "" for name in names}
    redis_urls = {n: u for n, u in urls.items() if u.startswith(("redis://", "rediss://"))}
    if not redis_urls:
        return
    settings.STUDIO_DIFFUSION_REDIS_URL = ""
    os.environ.pop("STUDIO_DIFFUSION_REDIS_URL", None)

    def free(offset: int) -> bool:
        dbs = {_redis_db(url) + offset for url in redis_urls.values()}
        return not dbs & REDIS_DBS_TAKEN and max(dbs) < REDIS_DB_COUNT

    offsets = [k for k in range(0, REDIS_DB_COUNT, 2) if free(k)]
    index = xdist_index()
    if index >= len(offsets):
        raise pytest.UsageError(
            f"xdist worker gw{index} has no Redis DBs left (from {sorted(redis_urls.values())},"
            f" {len(offsets)} workers fit): run with fewer -n"
        )
    for name, url in redis_urls.items():
        moved = _with_redis_db(url, _redis_db(url) + offsets[index])
        setattr(settings, name, moved)
        os.environ[name] = moved
    celery_app.conf.update(
        broker_url=settings.CELERY_BROKER_URL, result_backend=settings.CELERY_RESULT_BACKEND
    )


def pytest_configure(config: pytest.Config) -> None:
    _use_this_workers_redis()


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session", autouse=True)
def _isolated_storage(var_dir: Path) -> Iterator[None]:
    """Media, work files, the signing identity and the embedded broker live in a fresh
    folder per test session (per xdist worker); users get a fast password hasher."""
    override = override_settings(
        MEDIA_ROOT=var_dir / "media",
        STUDIO_WORK_DIR=var_dir / "work",
        STUDIO_C2PA_DIR=var_dir / "c2pa",
        VAR_DIR=var_dir,
        STUDIO_JOB_STALL_SECONDS=float(WORKER_TIMINGS["STUDIO_JOB_STALL_SECONDS"]),
        # Django's default hasher costs most of a second per user on a small machine.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    override.enable()
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        celery_app.conf.broker_transport_options = filesystem_broker_options(var_dir)
    yield
    override.disable()


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("ada", password="pw-ada-123")


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", password="pw-bob-123")


@pytest.fixture
def pro_user(user: Any) -> Any:
    """``user`` on the Pro plan: 1080p, 20 s, watermark-free downloads, 5 jobs at a time."""
    put_on_plan(user, "Pro")
    return user


def put_on_plan(user: Any, plan_name: str) -> Any:
    from accounts.models import Plan
    from accounts.plans import account_get_for_user, plan_default

    plan_default()  # seeds the plans when a transactional test emptied the table
    account = account_get_for_user(user)
    account.plan = Plan.objects.get(name=plan_name)
    account.save()
    return user


@pytest.fixture
def owner_client(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(var_dir: Path) -> dict[str, str]:
    """The environment a worker process needs to share this test session's world."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "studio.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND or "",
        "STUDIO_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "STUDIO_WORK_DIR": str(var_dir / "work"),
        "STUDIO_C2PA_DIR": str(var_dir / "c2pa"),
        **WORKER_TIMINGS,
    }


class Worker:
    """A real `celery worker -B` process, started in its own process group."""

    def __init__(self, var_dir: Path, name: str) -> None:
        self.log = var_dir / f"{name}.log"
        # The log is appended to: a test's earlier worker of the same name said "ready" too.
        start = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "studio",
                "worker",
                "-B",
                "-Q",
                "priority,standard,media",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "-n",
                f"{name}@%h",
                "--schedule",
                str(var_dir / f"{name}-beat"),
            ],
            cwd=ROOT,
            env=worker_env(var_dir),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while b" ready." not in self.log.read_bytes()[start:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the worker and every process it started."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """The tests never need a worker to finish what it holds: the reaper exists for that."""
        if self.proc.poll() is None:
            self.kill()


@pytest.fixture(scope="session")
def _purged_broker() -> None:
    celery_app.control.purge()


@pytest.fixture
def start_worker(
    var_dir: Path, django_db_setup: Any, _purged_broker: None
) -> Iterator[Callable[[], Worker]]:
    """Start real worker processes on demand; all are stopped at the end of the test."""
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(var_dir, f"worker{len(started)}-{os.getpid()}")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_final(generation: Any, timeout: float = 90) -> Any:
    """Wait until the generation reaches a final state; returns it refreshed."""

    def done() -> bool:
        generation.refresh_from_db()
        return generation.is_final

    wait_for(done, timeout, f"generation {generation.pk} to end")
    return generation


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll until the predicate is truthy (no fixed sleeps); returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
