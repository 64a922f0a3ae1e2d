"""The diffusers provider against the real GPU worker (workers/diffusion) running a tiny
random-weight LTX model on the CPU: the dashboard offers what the worker announces, and
a generation goes through the `gpu` queue to a playable MP4."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import av
import pytest
import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from generations import services
from generations.models import Generation
from generations.spec import GenerationSpec
from generations.states import State
from providers.base import JobState
from providers.diffusers.provider import WORKER_KEYS, DiffusersProvider
from providers.registry import get_provider
from tests.conftest import ROOT, wait_for
from tests.factories import make_generation

WORKER_DIR = ROOT / "workers" / "diffusion"
PYTHON = WORKER_DIR / ".venv" / "bin" / "python"
LTX = "ltx-0.9.8-distilled"

pytestmark = pytest.mark.worker


def _needs_gpu_worker_env() -> None:
    if not PYTHON.exists():
        pytest.skip("the diffusion worker's environment is not built (workers/diffusion/run-tests)")
    if not settings.CELERY_BROKER_URL.startswith("redis") or not settings.CELERY_RESULT_BACKEND:
        pytest.skip("the GPU worker needs Redis as broker and result backend")


@pytest.fixture(scope="session")
def tiny_ltx(var_dir: Path) -> Path:
    _needs_gpu_worker_env()
    path = var_dir / "tiny-ltx"
    subprocess.run(
        [str(PYTHON), "-c",
         "import sys; from pathlib import Path; from tests import tiny_models as tm; "
         "tm.save_to_dir(tm.build_ltx(), Path(sys.argv[1]))", str(path)],
        cwd=WORKER_DIR, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return path


@pytest.fixture
def gpu_worker_for(tiny_ltx: Path, var_dir: Path):
    """Start the GPU worker with extra environment; stopped at the end of the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**extra: str) -> subprocess.Popen[bytes]:
        proc = _start_gpu_worker(tiny_ltx, var_dir, extra)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        _stop_gpu_worker(proc)


@pytest.fixture
def gpu_worker(gpu_worker_for):
    return gpu_worker_for()


def _start_gpu_worker(tiny_ltx: Path, var_dir: Path, extra: dict[str, str]):
    log = (var_dir / "gpu-worker.log").open("ab")
    env = {
        **os.environ,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "PYTHONPATH": str(WORKER_DIR),
        "STUDIO_DIFFUSION_MODEL_DIR_LTX_0_9_8_DISTILLED": str(tiny_ltx),
        "STUDIO_DIFFUSION_MAX_SIDE": "64",
        "STUDIO_DIFFUSION_ANNOUNCE_INTERVAL": "1",
        "STUDIO_DIFFUSION_PROGRESS_INTERVAL": "0",
        **extra,
    }
    return subprocess.Popen(
        [str(PYTHON), "-m", "celery", "-A", "diffusion_worker.app", "worker", "-Q", "gpu",
         "--pool=solo", "-n", f"gpu-test-{os.getpid()}@%h", "--loglevel=INFO"],
        cwd=WORKER_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _stop_gpu_worker(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)  # a clean stop removes its announcement
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_without_an_announced_worker_the_provider_is_hidden():
    _needs_gpu_worker_env()
    # This xdist worker's own broker DB (tests/conftest.py), where its GPU workers announce.
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in client.scan_iter(WORKER_KEYS):
        client.delete(key)

    provider = DiffusersProvider()

    assert not provider.is_available()
    assert provider.capabilities().models == ()


@pytest.mark.django_db(transaction=True)
def test_a_dashboard_generation_runs_on_the_gpu_worker_with_live_progress(
    gpu_worker, start_worker, owner_client, user
):
    start_worker()
    provider = get_provider("diffusers")
    wait_for(provider.is_available, 90, "the GPU worker's announcement")

    page = owner_client.get(reverse("dashboard")).content.decode()
    assert f'value="diffusers:{LTX}"' in page
    assert 'value="diffusers:wan2.1-1.3b"' not in page  # its weights are not on the worker

    response = owner_client.post(
        reverse("generate"),
        {
            "prompt": "a red bird flies over the sea at sunset",
            "resolution": "480p",
            "aspect_ratio": "16:9",
            "seconds": 2,
            "variations": 1,
            "provider": f"diffusers:{LTX}",
            "seed": 42,
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'class="errors"' not in response.content.decode(), response.content.decode()
    generation = Generation.objects.get(owner=user)
    assert (generation.provider, generation.model) == ("diffusers", LTX)

    seen: list[JobState] = []

    def finished() -> bool:
        generation.refresh_from_db()
        if generation.provider_job_id and generation.state == State.RUNNING:
            seen.append(provider.poll(generation.provider_job_id).state)
        return generation.is_final

    wait_for(finished, 120, "the GPU job to end")
    assert generation.state == State.SUCCEEDED, generation.error_message
    assert JobState.RUNNING in seen or JobState.QUEUED in seen
    video = generation.videos.get()
    with av.open(video.file.path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 32)
    assert frames == 49  # 2 s at 24 fps, snapped to LTX's 8k+1
    assert video.poster
    assert not list((Path(settings.STUDIO_WORK_DIR) / "diffusion").glob("*.mp4"))


@pytest.mark.django_db(transaction=True)
def test_on_object_storage_the_gpu_worker_shares_no_disk_with_studio(
    gpu_worker_for, start_worker, user, tmp_path, monkeypatch
):
    """Studio's worker and the GPU worker share only PostgreSQL, Redis and the bucket: the
    first frame travels inline, the result is PUT to a presigned link, and neither side's
    scratch folder holds anything of the job afterwards."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.generations.test_uploads import png_bytes
    from tests.objectstore import on_s3, start_s3_server

    s3 = start_s3_server()
    bucket = "gpu-no-shared-disk"
    env = {
        "STUDIO_STORAGE": "s3",
        "STUDIO_S3_BUCKET": bucket,
        "STUDIO_S3_ENDPOINT_URL": s3.endpoint,
        "STUDIO_S3_ADDRESSING_STYLE": "path",
        "STUDIO_S3_PREFIX": "media",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    gpu_scratch = tmp_path / "gpu-box"
    gpu_scratch.mkdir()
    gpu_worker_for(TMPDIR=str(gpu_scratch))
    start_worker()
    provider = get_provider("diffusers")
    wait_for(provider.is_available, 90, "the GPU worker's announcement")
    try:
        with on_s3(s3, bucket):
            asset = services.asset_create(
                owner=user,
                upload=SimpleUploadedFile("ref.png", png_bytes((64, 32)), content_type="image/png"),
            )
            generation = services.generation_create(
                owner=user,
                spec=GenerationSpec(
                    prompt="a red bird flies over the sea",
                    resolution="480p",
                    aspect_ratio="16:9",
                    seconds=1,
                    provider="diffusers",
                    model=LTX,
                    reference=asset,
                    seed=5,
                ),
            )
            wait_for(lambda: generation.refresh_from_db() or generation.is_final, 180, "the job")
            assert generation.state == State.SUCCEEDED, generation.error_message
            video = generation.videos.get()
            keys = s3.keys(bucket)
            assert f"media/{video.file.name}" in keys
            assert not [k for k in keys if k.startswith("media/work/")]  # released
            assert video.file.read()[4:8] == b"ftyp"
        assert not list(gpu_scratch.rglob("*.mp4"))
        assert not (Path(settings.STUDIO_WORK_DIR) / "diffusion").exists() or not list(
            (Path(settings.STUDIO_WORK_DIR) / "diffusion").iterdir()
        )
    finally:
        s3.server.stop()


@pytest.mark.django_db
def test_a_model_the_workers_lack_is_refused_with_a_plain_message(user):
    with pytest.raises(ValidationError) as error:
        services.generation_create(
            owner=user,
            spec=GenerationSpec(prompt="a cat", provider="diffusers", model="wan2.2-ti2v-5b"),
        )
    assert "no model 'wan2.2-ti2v-5b' available now" in str(error.value)
    assert not Generation.objects.exists()


class _Result:
    """A stand-in for a GPU job's AsyncResult: its state and its meta."""

    def __init__(self, state: str, info: object) -> None:
        self.state, self.info = state, info


def test_progress_meta_maps_to_percent(monkeypatch):
    provider = DiffusersProvider()
    meta = {"stage": "denoising", "progress": 0.45, "step": 4, "steps": 8}
    monkeypatch.setattr(provider, "_result", lambda job_id: _Result("PROGRESS", meta))

    status = provider.poll("diffusion-x")

    assert (status.state, status.progress) == (JobState.RUNNING, 45)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "info", "shown"),
    [
        ("PROGRESS", {"stage": "denoising", "progress": 0.45, "step": 4, "steps": 8}, 41),
        # 0.29 is 28.999... in floating point: the share is rounded, not cut to 28 %.
        ("PROGRESS", {"stage": "denoising", "progress": 0.29, "step": 2, "steps": 7}, 28),
        ("PROGRESS", {"stage": "encoding", "progress": 1.0}, 85),
        ("STARTED", None, 5),
    ],
    ids=["denoising", "denoising-rounded", "encoding", "started"],
)
def test_the_generation_shows_the_workers_progress_within_the_running_span(
    monkeypatch, user, state, info, shown
):
    provider = get_provider("diffusers")
    monkeypatch.setattr(provider, "_result", lambda job_id: _Result(state, info))
    generation = make_generation(
        user, state=State.RUNNING, provider="diffusers", provider_job_id="diffusion-x", progress=5
    )

    services.generation_poll(generation.pk)

    generation.refresh_from_db()
    # Running spans 5..85 % of the bar: 45 % of the denoising shows as 5 + 80 * 45 // 100.
    assert (generation.state, generation.progress) == (State.RUNNING, shown)
