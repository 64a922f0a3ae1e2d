"""Studio on several machines that share nothing but PostgreSQL, Redis and an S3 server.

Each "machine" is a real worker process with its own scratch folders (var, MEDIA_ROOT,
STUDIO_WORK_DIR, TMPDIR, its own copy of the operator's C2PA files) and
STUDIO_STORAGE=s3 on moto's server: one takes the generations' steps (``priority`` and
``standard``), one finishes and renders (``media``), and the diffusion worker takes ``gpu``.
Three generations run at once: the OpenAI-compatible provider's create, sent by a machine
that is killed before the answer comes and reconciled by another, the offline renderer
with a reference image, and the diffusion worker's tiny pipeline. Each ends playable in
the bucket, its steps are in both machines' logs, and no machine's disk keeps anything.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from core import storage
from delivery.finishing import signing_identity
from generations import services
from generations.models import GenerationEvent
from generations.spec import GenerationSpec
from generations.states import State
from media.provenance.identity import SIGNER_CHAIN, SIGNER_KEY
from media.provenance.reading import read_credentials
from providers.offline.models import RenderLease
from providers.registry import get_provider
from tests.conftest import ROOT, wait_final, wait_for, worker_env
from tests.generations.test_uploads import png_bytes
from tests.objectstore import S3Server, on_s3, start_s3_server
from tests.providers.diffusers import test_provider as gpu_tests
from tests.providers.openai_compat.server import FakeVideoServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

# The diffusion worker's fixtures (a tiny random-weight LTX model, the worker process).
tiny_ltx = gpu_tests.tiny_ltx
gpu_worker_for = gpu_tests.gpu_worker_for
LTX = gpu_tests.LTX
BUCKET = "several-machines"
SCRATCH = ("media", "work", "tmp")


class Machine:
    """A `celery worker` process with a disk of its own (``root``) on the given queues."""

    def __init__(self, root: Path, name: str, queues: str, s3_env: dict[str, str]) -> None:
        self.name, self.root = name, root / name
        for sub in (*SCRATCH, "var", "c2pa"):
            (self.root / sub).mkdir(parents=True)
        # The operator's signing chain, copied to every machine like SECRET_KEY.
        c2pa = Path(settings.STUDIO_C2PA_DIR)
        for filename in (SIGNER_CHAIN, SIGNER_KEY):
            shutil.copyfile(c2pa / filename, self.root / "c2pa" / filename)
        env = {
            **worker_env(self.root / "var"),
            **s3_env,
            "MEDIA_ROOT": str(self.root / "media"),
            "STUDIO_WORK_DIR": str(self.root / "work"),
            "STUDIO_C2PA_DIR": str(self.root / "c2pa"),
            "STUDIO_C2PA_CERT": str(self.root / "c2pa" / SIGNER_CHAIN),
            "STUDIO_C2PA_KEY": str(self.root / "c2pa" / SIGNER_KEY),
            "TMPDIR": str(self.root / "tmp"),
        }
        self.log = root / f"{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", "worker", "-B", "-Q", queues,
             "--concurrency", "2", "--loglevel", "INFO", "-n", f"{name}-{os.getpid()}@%h",
             "--schedule", str(self.root / "var" / "beat")],
            cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while b" ready." not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def tasks_run(self) -> set[str]:
        """The names of the tasks this machine received."""
        names = set()
        for line in self.log.read_text().splitlines():
            if "] received" in line and "Task " in line:
                names.add(line.split("Task ", 1)[1].split("[", 1)[0])
        return names

    def files_left(self) -> list[Path]:
        return sorted(p for sub in SCRATCH for p in (self.root / sub).rglob("*") if p.is_file())


@pytest.fixture
def s3(monkeypatch) -> Iterator[tuple[S3Server, dict[str, str]]]:
    server = start_s3_server()
    env = {
        "STUDIO_STORAGE": "s3",
        "STUDIO_S3_BUCKET": BUCKET,
        "STUDIO_S3_ENDPOINT_URL": server.endpoint,
        "STUDIO_S3_ADDRESSING_STYLE": "path",
        "STUDIO_S3_PREFIX": "media",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the diffusion worker's environment
    yield server, env
    server.server.stop()


@pytest.fixture
def machines(tmp_path) -> Iterator[list[Machine]]:
    started: list[Machine] = []
    yield started
    for machine in started:
        machine.kill()


def _spec(**fields: Any) -> GenerationSpec:
    return GenerationSpec(resolution="480p", aspect_ratio="16:9", seconds=1, seed=3, **fields)


def test_two_machines_sharing_only_postgres_redis_and_s3_complete_every_kind_of_job(
    s3, machines, gpu_worker_for, pro_user, tmp_path
):
    server, s3_env = s3
    signing_identity()  # the operator's chain exists before it is copied to the machines
    fake = FakeVideoServer(render_seconds=1.0).__enter__()
    try:
        fake.endpoint()
        _run(server, s3_env, fake, machines, gpu_worker_for, pro_user, tmp_path)
    finally:
        fake.__exit__(None, None, None)


def _run(server, s3_env, fake, machines, gpu_worker_for, user, tmp_path) -> None:
    gpu_tmp = tmp_path / "gpu-box"
    gpu_tmp.mkdir()
    gpu_worker_for(TMPDIR=str(gpu_tmp), **s3_env)
    first = Machine(tmp_path, "steps-a", "priority,standard", s3_env)
    media = Machine(tmp_path, "media", "media", s3_env)
    machines += [first, media]
    first.wait_ready()
    media.wait_ready()
    wait_for(get_provider("diffusers").is_available, 120, "the GPU worker's announcement")

    with on_s3(server, BUCKET):
        fake.stall_create.set()  # the server takes the create, then holds the answer
        hosted = services.generation_create(
            owner=user,
            spec=GenerationSpec(
                prompt="a slow dolly past a neon sign",
                resolution="720p",
                seconds=4,
                provider="openai-loop",
            ),
        )
        wait_for(fake.create_arrived.is_set, 90, "the create to reach the server")
        first.kill()  # the machine that sent it dies without hearing back
        fake.stall_create.clear()
        fake.release_create.set()
        second = Machine(tmp_path, "steps-b", "priority,standard", s3_env)
        machines.append(second)
        second.wait_ready()

        reference = services.asset_create(
            owner=user,
            upload=SimpleUploadedFile("ref.png", png_bytes((160, 90)), content_type="image/png"),
        )
        offline = services.generation_create(
            owner=user,
            spec=_spec(prompt="a lighthouse at dusk", provider="offline", reference=reference),
        )
        gpu = services.generation_create(
            owner=user,
            spec=_spec(prompt="a red bird over the sea", provider="diffusers", model=LTX),
        )

        for generation in (hosted, offline, gpu):
            wait_final(generation, timeout=300)
            assert generation.state == State.SUCCEEDED, (
                generation.provider,
                generation.error_message,
            )

        # The create was sent once, by the machine that died, and found by the other.
        assert len(fake.jobs) == 1 and fake.calls["create"] == 1
        assert hosted.provider_job_id == next(iter(fake.jobs))
        found = GenerationEvent.objects.filter(generation=hosted)
        assert found.filter(message="found the job made before a crash").count() == 1

        keys = server.keys(BUCKET)
        for generation in (hosted, offline, gpu):
            video = generation.videos.get()
            for field in (video.file, video.poster):  # a Pro plan's master, no delivery copy
                assert f"media/{field.name}" in keys
            with storage.local_copy(video.file) as path:
                with av.open(str(path)) as container:
                    assert sum(1 for _ in container.decode(video=0)) == video.frames > 0
                # Signed on the media machine, recognised as ours here (the web's side).
                credentials = read_credentials(path, identity=signing_identity())
                assert (credentials.state, credentials.ours) == ("valid", True)
        # Every provider's scratch objects were released once the result was saved.
        assert [k for k in keys if k.startswith("media/work/")] == []
        assert not RenderLease.objects.exists()

    steps = {"generations.tasks.submit_generation", "generations.tasks.poll_generation"}
    assert steps <= second.tasks_run()
    assert "generations.tasks.submit_generation" in first.tasks_run()
    assert {"delivery.tasks.finish_generation", "providers.offline.tasks.render_offline_job"} <= (
        media.tasks_run()
    )
    assert not media.tasks_run() & steps
    assert not second.tasks_run() & {"delivery.tasks.finish_generation"}
    for machine in machines:
        assert machine.files_left() == [], machine.name
    assert not [p for p in gpu_tmp.rglob("*") if p.is_file()]
    assert not (Path(settings.MEDIA_ROOT) / "videos" / str(user.pk)).exists()
