"""/healthz and /readyz on a real gunicorn: ready when PostgreSQL, Redis and the S3 server
answer; unavailable while any of them is down (PostgreSQL cut through a TCP proxy, Redis
and the S3 server stopped), and ready again when it is back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.netproxy import Proxy
from tests.objectstore import CREDENTIALS, start_s3_server

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def _wait_for(predicate, *, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = _free_port()
    command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=tmp_path)
    yield port, proc
    proc.kill()
    proc.wait()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_readyz_follows_each_dependency(redis_server, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    redis_port, redis_proc = redis_server
    settings_dict = connection.settings_dict
    db = Proxy(int(settings_dict["PORT"] or 5432))
    db.start()
    s3 = start_s3_server()
    bucket = f"ready-{uuid.uuid4().hex[:8]}"
    s3.client().create_bucket(Bucket=bucket)
    web_port = _free_port()
    env = {
        **os.environ,
        **CREDENTIALS,
        "DATABASE_URL": f"postgres://{settings_dict['USER']}@127.0.0.1:{db.port}/{settings_dict['NAME']}",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "STUDIO_STORAGE": "s3",
        "STUDIO_S3_BUCKET": bucket,
        "STUDIO_S3_ENDPOINT_URL": s3.endpoint,
        "STUDIO_S3_ADDRESSING_STYLE": "path",
        "STUDIO_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "health-test",
        "PYTHONPATH": str(ROOT),
    }
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "studio.wsgi",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--workers",
            "1",
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{web_port}"

    def ready() -> bool:
        try:
            return _get(f"{base}/readyz")[0] == 200
        except OSError:
            return False

    def failing(name: str) -> bool:
        status, body = _get(f"{base}/readyz")
        return status == 503 and body["checks"][name] == "failing"  # type: ignore[index]

    try:
        _wait_for(ready)
        status, body = _get(f"{base}/healthz")
        assert (status, body) == (200, {"status": "ok"})
        assert _get(f"{base}/readyz")[1]["checks"] == {
            "database": "ok",
            "migrations": "ok",
            "broker": "ok",
            "storage": "ok",
        }

        db.stop()
        _wait_for(lambda: failing("database"))
        assert _get(f"{base}/healthz")[0] == 200  # up, though not ready
        db.start()
        _wait_for(ready)

        redis_proc.kill()
        redis_proc.wait()
        _wait_for(lambda: failing("broker"))
        restarted = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        try:
            _wait_for(ready)

            s3.server.stop()
            _wait_for(lambda: failing("storage"))
            s3.restart()
            _wait_for(ready)
        finally:
            restarted.kill()
            restarted.wait()
    finally:
        web.terminate()
        web.wait(10)
        db.stop()
        s3.server.stop()


@pytest.mark.django_db
def test_probes_answer_any_host_without_login_or_https(client, settings):
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    for path, body in (("/healthz", {"status": "ok"}), ("/readyz", None)):
        answer = client.get(path, HTTP_HOST="10.0.0.7:8000")
        assert answer.status_code == 200, answer.content
        assert answer["Content-Type"] == "application/json"
        assert answer["Cache-Control"] == "no-store"
        if body:
            assert answer.json() == body
    assert client.get("/readyz").json()["checks"]["storage"] == "ok"
    # Every other path still checks the host.
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400
