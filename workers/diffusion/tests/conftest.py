"""Fixtures: tiny models on disk, the env that points presets at them, Redis, a real worker.

The HF cache lives in a temporary HF_HOME set before anything imports huggingface_hub,
with HF_HUB_OFFLINE=1, so a test that tried to download would fail instead.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(tempfile.mkdtemp(prefix="studio-diffusion-tests-"))
atexit.register(shutil.rmtree, ROOT, True)
os.environ["HF_HOME"] = str(ROOT / "hf")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["STUDIO_DIFFUSION_DEVICE"] = os.environ.get("STUDIO_TEST_DEVICE", "cpu")
# This process and the worker it starts must share one Redis, whatever the shell exported.
TEST_REDIS_URL = os.environ.get("STUDIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
for _name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "STUDIO_DIFFUSION_REDIS_URL"):
    os.environ[_name] = TEST_REDIS_URL

WORKER_DIR = Path(__file__).resolve().parent.parent
if str(WORKER_DIR) not in sys.path:
    sys.path.insert(0, str(WORKER_DIR))

import pytest  # noqa: E402

WAN21_REPO = "studio-test/tiny-wan21"


@pytest.fixture(scope="session")
def tiny_models() -> Iterator[dict[str, str]]:
    """Build the tiny models once and point the three presets at them (in os.environ).

    LTX loads from a local directory, Wan 2.1 by repo id from the HF cache layout, and
    Wan 2.2 from a directory named in the JSON map: every route production has.
    """
    from tests import tiny_models as tm

    models = ROOT / "models"
    tm.save_to_dir(tm.build_ltx(), models / "tiny-ltx")
    tm.save_to_hub_cache(tm.build_wan21(), ROOT / "hf", WAN21_REPO)
    tm.save_to_dir(tm.build_wan22_ti2v(), models / "tiny-wan22")
    env = {
        "STUDIO_DIFFUSION_MODEL_DIR_LTX_0_9_8_DISTILLED": str(models / "tiny-ltx"),
        "STUDIO_DIFFUSION_MODELS": json.dumps(
            {"wan2.1-1.3b": WAN21_REPO, "wan2.2-ti2v-5b": str(models / "tiny-wan22")}
        ),
        "STUDIO_DIFFUSION_MAX_LOADED": "3",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = TEST_REDIS_URL
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    return url


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def base_spec(out_dir: Path, **overrides: Any) -> dict[str, Any]:
    """A tiny job: 32 px, 9 frames, 2 steps on the LTX preset."""
    spec: dict[str, Any] = {
        "prompt": "a cat runs on the beach at sunset",
        "negative_prompt": "blurry",
        "preset": "ltx-0.9.8-distilled",
        "width": 32,
        "height": 32,
        "frames": 9,
        "steps": 2,
        "seed": 1234,
        "output_path": str(out_dir / f"{uuid.uuid4().hex}.mp4"),
    }
    spec.update(overrides)
    return spec


class WorkerProcess:
    """``celery -A diffusion_worker.app worker`` as a child process with its own node name."""

    def __init__(self, redis_url: str, env: dict[str, str]) -> None:
        self.hostname = f"studio-diffusion-test-{uuid.uuid4().hex[:8]}@localhost"
        self.log_path = ROOT / f"{self.hostname}.log"
        full_env = {
            **os.environ,
            **env,
            "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url,
            "PYTHONPATH": str(WORKER_DIR),
            "STUDIO_DIFFUSION_PROGRESS_INTERVAL": "0",
        }
        cmd = [
            sys.executable, "-m", "celery", "-A", "diffusion_worker.app", "worker",
            "-Q", "gpu", "--pool=solo", "--concurrency=1", "-n", self.hostname,
            "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, env=full_env, cwd=WORKER_DIR, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_until_announced(self, client: Any, timeout: float = 90) -> dict[str, Any]:
        from diffusion_worker import worker_key

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = client.get(worker_key(self.hostname))
            if raw:
                return json.loads(raw)
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_tail()}")
            time.sleep(0.05)
        raise AssertionError(f"worker did not announce itself in {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode
