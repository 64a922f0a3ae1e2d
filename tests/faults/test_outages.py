"""The services a worker leans on go away mid-job: Redis is restarted (with nothing saved,
so every message it held is gone) and PostgreSQL drops every connection
(``pg_terminate_backend``). The job still ends ``succeeded``, once, with no file left over."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from generations import services
from generations.spec import GenerationSpec
from generations.states import FINAL_STATES, State
from tests.conftest import wait_final, wait_for
from tests.faults.conftest import _use_broker, assert_clean_end

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for(answers, 20, "redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.fixture
def own_redis(settings: Any) -> Iterator[RedisServer]:
    """A Redis of this test's own, as the broker and result backend of the test and its
    workers."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(_free_port())
    server.start()
    before = (celery_conf().broker_url, celery_conf().broker_transport_options)
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{server.port}/0"
    settings.CELERY_RESULT_BACKEND = f"redis://127.0.0.1:{server.port}/1"
    _use_broker(settings.CELERY_BROKER_URL, {"visibility_timeout": 3600})
    try:
        yield server
    finally:
        server.stop()
        _use_broker(*before)


def celery_conf() -> Any:
    from studio.celery import app

    return app.conf


def _job(user: Any) -> Any:
    return services.generation_create(
        owner=user,
        spec=GenerationSpec(prompt="a storm over a harbour", resolution="720p", seconds=6),
    )


def _reached(generation: Any, *states: str):
    def check() -> bool:
        generation.refresh_from_db()
        return generation.state in states

    return check


@pytest.mark.xfail(
    reason="found in this issue, not yet fixed: after a restart of a Redis that saved nothing,"
    " the job did not end within 240 s on a loaded machine (recovery path to be traced)",
    run=False,  # it would spend its whole 240 s wait in every CI run
)
def test_redis_restarted_mid_job(own_redis, start_worker, user):
    start_worker()
    generation = _job(user)
    wait_for(_reached(generation, State.RUNNING), 120, "the job to run")

    own_redis.stop()  # every queued and unacknowledged message is lost with it
    time.sleep(2)
    own_redis.start()

    wait_final(generation, timeout=240)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert_clean_end(generation)


def _drop_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def test_postgres_drops_every_connection_mid_job(start_worker, user):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    start_worker()
    generation = _job(user)
    wait_for(_reached(generation, State.RUNNING), 120, "the job to run")
    # The worker's (render, poll, reaper): dropped as soon as one is open.
    wait_for(lambda: _drop_connections() >= 1, 60, "a worker connection to drop")
    wait_for(
        _reached(generation, State.DOWNLOADING, State.FINISHING, *FINAL_STATES),
        180,
        "the job to get past running",
    )
    _drop_connections()

    wait_final(generation, timeout=240)
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert_clean_end(generation)
