"""The offline job shares no disk between its steps: submit stores the reference, the render
copies it down into its own temporary folder and uploads what it made, the download reads
from storage, and nothing is left in any machine's work folder."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import av
import pytest
from django.core.files.storage import default_storage

from providers.base import JobRequest, JobState
from providers.offline.models import RenderLease
from providers.offline.provider import STORAGE_ROOT, OfflineProvider
from tests.generations.test_uploads import png_bytes

pytestmark = pytest.mark.django_db


def test_a_job_with_a_reference_goes_through_storage_and_scratch_alone(
    monkeypatch, tmp_path, settings
):
    provider = OfflineProvider()
    sent: list[str] = []
    monkeypatch.setattr(provider, "_enqueue", sent.append)
    reference = tmp_path / "web-box" / "ref.png"
    reference.parent.mkdir()
    reference.write_bytes(png_bytes((160, 90)))
    job_id = provider.submit(
        JobRequest(
            key=str(uuid.uuid4()),
            prompt="a lighthouse at dusk",
            width=160,
            height=90,
            seconds=1,
            fps=8,
            variations=2,
            reference_path=reference,
            reference_kind="image",
        )
    )
    job = RenderLease.objects.get(job_id=job_id)
    assert sent == [job_id] and job.state == "queued"
    assert job.reference.startswith(f"{STORAGE_ROOT}/{job_id}/reference")
    assert default_storage.open(job.reference).read() == reference.read_bytes()
    reference.unlink()  # the machine that submitted is not the one that renders

    render_tmp = tmp_path / "render-box-tmp"
    render_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(render_tmp))
    provider.run(job_id)

    assert list(render_tmp.iterdir()) == []  # the scratch folder went with the render
    assert provider.poll(job_id).state == JobState.COMPLETED
    job.refresh_from_db()
    assert job.outputs == [f"{STORAGE_ROOT}/{job_id}/video-{i}.mp4" for i in range(2)]
    dest = tmp_path / "download-box"
    dest.mkdir()
    files = provider.download(job_id, dest)
    assert [f.name for f in files] == ["video-0.mp4", "video-1.mp4"]
    for f in files:
        with av.open(str(f)) as container:
            assert sum(1 for _ in container.decode(video=0)) == 8
    assert not (Path(settings.STUDIO_WORK_DIR) / "offline").exists()

    provider.release(job_id)
    assert not default_storage.exists(job.reference)
    assert not any(default_storage.exists(name) for name in job.outputs)


def test_a_submission_of_the_same_key_again_makes_no_second_job(monkeypatch):
    provider = OfflineProvider()
    sent: list[str] = []
    monkeypatch.setattr(provider, "_enqueue", sent.append)
    request = JobRequest(key=str(uuid.uuid4()), prompt="x", width=160, height=90, seconds=1, fps=8)

    first = provider.submit(request)

    assert provider.find_job(request.key) == first
    assert provider.submit(request) == first
    assert sent == [first]
    assert RenderLease.objects.filter(job_id=first).count() == 1


def test_a_job_id_that_is_not_an_offline_job_is_refused():
    from providers.base import PermanentError

    with pytest.raises(PermanentError, match="Unknown offline job"):
        OfflineProvider().poll("offline-../../etc")
    with pytest.raises(PermanentError, match="lost"):
        OfflineProvider().poll("offline-never-made")
