"""Through a real ``celery worker`` process and Redis, as Studio will drive it.

The client here is a bare Celery app that knows only the task name and queue, like the
Studio side: it sends by name, follows PROGRESS metas, and sets the cancel flag in Redis.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from celery.result import AsyncResult

from diffusion_worker import (
    EXC_CANCELLED,
    EXC_INVALID_SPEC,
    EXC_MODEL_NOT_AVAILABLE,
    QUEUE,
    TASK_NAME,
    cancel_key,
    worker_key,
)
from tests.conftest import WorkerProcess, base_spec
from tests.test_generate import decode, write_image

MISSING_REPO = "studio-test/never-fetched"


@pytest.fixture(scope="module")
def client(redis_url: str) -> Celery:
    app = Celery("studio-side", broker=redis_url, backend=redis_url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    return app


@pytest.fixture(scope="module")
def rdb(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@pytest.fixture(scope="module")
def worker_env(tiny_models: dict[str, str]) -> dict[str, str]:
    """The tiny models, except that Wan 2.2 points at a repo that was never fetched."""
    mapping = json.loads(tiny_models["STUDIO_DIFFUSION_MODELS"])
    mapping["wan2.2-ti2v-5b"] = MISSING_REPO
    return {**tiny_models, "STUDIO_DIFFUSION_MODELS": json.dumps(mapping)}


@pytest.fixture(scope="module")
def worker(redis_url: str, worker_env: dict[str, str], rdb: redis.Redis) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(redis_url, worker_env)
    try:
        proc.wait_until_announced(rdb)
        yield proc
    finally:
        proc.stop()


def send(client: Celery, spec: dict[str, Any]) -> AsyncResult:
    return client.send_task(TASK_NAME, args=[spec], queue=QUEUE, task_id=str(uuid.uuid4()))


def wait_ready(result: AsyncResult, worker: WorkerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not result.ready():
        assert time.monotonic() < deadline, f"task not done in {timeout}s:\n{worker.log_tail()}"
        time.sleep(0.02)


def test_job_reports_progress_in_order_and_returns_its_result(
    client: Celery, rdb: redis.Redis, worker: WorkerProcess, out_dir: Path
) -> None:
    spec = base_spec(out_dir, steps=3)
    task_id = str(uuid.uuid4())
    # The result backend publishes every state it stores; subscribing first sees them all.
    pubsub = rdb.pubsub()
    pubsub.subscribe(f"celery-task-meta-{task_id}")
    result = client.send_task(TASK_NAME, args=[spec], queue=QUEUE, task_id=task_id)
    wait_ready(result, worker)

    states: list[str] = []
    metas: list[dict[str, Any]] = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        if message["type"] == "message":
            body = json.loads(message["data"])
            states.append(body["status"])
            if body["status"] == "PROGRESS":
                metas.append(body["result"])
    pubsub.close()

    assert states[0] == "STARTED"
    assert states[-1] == "SUCCESS"
    assert [m["stage"] for m in metas] == [
        "loading",
        "denoising",
        "denoising",
        "denoising",
        "decoding",
        "encoding",
    ]
    progress = [m["progress"] for m in metas]
    assert progress == sorted(progress) and progress[-1] < 1
    assert [m["step"] for m in metas if m["stage"] == "denoising"] == [1, 2, 3]

    out = result.get(timeout=5)
    assert out["stage"] == "done"
    assert (out["width"], out["height"], out["frames"], out["fps"], out["seed"]) == (
        32,
        32,
        9,
        24,
        1234,
    )
    assert out["output_path"] == spec["output_path"]
    assert set(out["timings"]) >= {
        "load_s",
        "denoise_s",
        "decode_s",
        "encode_s",
        "total_s",
        "model_cached",
    }
    frames, _, _ = decode(out["output_path"])
    assert frames.shape == (9, 32, 32, 3)


def test_cancel_flag_stops_the_job_at_the_next_step_and_leaves_no_file(
    client: Celery, rdb: redis.Redis, worker: WorkerProcess, out_dir: Path
) -> None:
    spec = base_spec(out_dir, preset="wan2.1-1.3b", steps=100)
    result = send(client, spec)
    deadline = time.monotonic() + 60
    # Poll like Studio would, and pull the brake at the first denoising step.
    while not (result.state == "PROGRESS" and result.info.get("stage") == "denoising"):
        assert not result.ready(), f"finished before it could be cancelled: {result.state}"
        assert time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.01)
    while not json.loads(rdb.get(worker_key(worker.hostname)) or "{}").get("busy"):
        assert time.monotonic() < deadline, "the announcement never said busy"
        time.sleep(0.01)
    rdb.set(cancel_key(result.id), "1", ex=3600)
    wait_ready(result, worker)

    assert result.state == "REVOKED"
    assert type(result.result).__name__ == EXC_CANCELLED
    assert "cancelled" in str(result.result)
    assert list(out_dir.iterdir()) == []
    assert not rdb.exists(cancel_key(result.id)), "the worker clears the flag it honoured"


def test_cancel_before_the_job_starts_renders_nothing(
    client: Celery, rdb: redis.Redis, worker: WorkerProcess, out_dir: Path
) -> None:
    task_id = str(uuid.uuid4())
    rdb.set(cancel_key(task_id), "1", ex=3600)
    result = client.send_task(TASK_NAME, args=[base_spec(out_dir)], queue=QUEUE, task_id=task_id)
    wait_ready(result, worker)
    assert result.state == "REVOKED"
    assert list(out_dir.iterdir()) == []


def test_missing_model_fails_the_task_with_the_fetch_command(
    client: Celery, worker: WorkerProcess, out_dir: Path
) -> None:
    result = send(client, base_spec(out_dir, preset="wan2.2-ti2v-5b"))
    wait_ready(result, worker)
    assert result.state == "FAILURE"
    assert type(result.result).__name__ == EXC_MODEL_NOT_AVAILABLE
    assert f"hf download {MISSING_REPO}" in str(result.result)
    assert "docker compose run --rm models-fetch" in str(result.result)
    assert list(out_dir.iterdir()) == []


def test_a_bad_spec_fails_the_task_without_retrying(
    client: Celery, worker: WorkerProcess, out_dir: Path, tmp_path: Path
) -> None:
    image = write_image(tmp_path / "first.png", (200, 100, 50))
    result = send(client, base_spec(out_dir, preset="wan2.1-1.3b", image_path=image))
    wait_ready(result, worker)
    assert result.state == "FAILURE"
    assert type(result.result).__name__ == EXC_INVALID_SPEC
    assert "no image-to-video" in str(result.result)


def test_worker_announces_itself_and_withdraws_on_shutdown(
    redis_url: str, worker_env: dict[str, str], rdb: redis.Redis
) -> None:
    proc = WorkerProcess(redis_url, worker_env)
    try:
        info = proc.wait_until_announced(rdb)
        key = worker_key(proc.hostname)
        assert 0 < rdb.ttl(key) <= 60
        assert info["hostname"] == proc.hostname
        assert info["device"] == "cpu"
        assert info["busy"] is False
        assert info["queue"] == QUEUE and info["task_name"] == TASK_NAME
        presets = {p["id"]: p for p in info["presets"]}
        assert set(presets) == {"ltx-0.9.8-distilled", "wan2.1-1.3b", "wan2.2-ti2v-5b"}
        assert {k: p["available"] for k, p in presets.items()} == {
            "ltx-0.9.8-distilled": True,
            "wan2.1-1.3b": True,
            "wan2.2-ti2v-5b": False,
        }
        assert presets["ltx-0.9.8-distilled"]["modes"] == ["t2v", "i2v"]
    finally:
        code = proc.stop()
    assert code == 0, proc.log_tail()
    assert not rdb.exists(worker_key(proc.hostname))
