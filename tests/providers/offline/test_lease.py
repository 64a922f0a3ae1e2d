"""The offline render's lease: the stall check never starts a second copy of a render that
still beats, a render whose lease was taken over stops, and Cancel reaches a render through
the database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from providers.base import JobRequest, JobState, PermanentError
from providers.offline.models import RenderLease
from providers.offline.provider import STORAGE_ROOT, LeaseLost, OfflineProvider, _Lease

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(monkeypatch):
    """The offline provider with its render messages recorded instead of sent."""
    offline = OfflineProvider()
    offline.sent = []  # type: ignore[attr-defined]
    monkeypatch.setattr(offline, "_enqueue", offline.sent.append)  # type: ignore[attr-defined]
    return offline


def _submit(provider: OfflineProvider, seconds: int = 1) -> str:
    request = JobRequest(
        key=str(uuid.uuid4()), prompt="a lighthouse", width=160, height=90, seconds=seconds, fps=8
    )
    return provider.submit(request)


def _age(job_id: str, seconds: float) -> None:
    RenderLease.objects.filter(job_id=job_id).update(
        beat_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_render_that_still_beats_is_never_started_again(provider, settings):
    settings.STUDIO_JOB_STALL_SECONDS = 3
    job_id = _submit(provider)
    live = _Lease(job_id)
    assert live.take()
    _age(job_id, 2)  # slow, but within the stall window

    assert provider.poll(job_id).state == JobState.RUNNING  # the holder took it
    assert provider.sent == [job_id]  # only submit's own message
    provider.run(job_id)  # a duplicate message: the live holder keeps the job
    job = RenderLease.objects.get(job_id=job_id)
    assert (job.holder, job.outputs) == (live.holder, [])
    assert not default_storage.exists(f"{STORAGE_ROOT}/{job_id}")


def test_a_render_that_stopped_beating_is_sent_again_once_and_the_old_copy_stops(
    provider, settings
):
    settings.STUDIO_JOB_STALL_SECONDS = 3
    job_id = _submit(provider)
    dead = _Lease(job_id)
    assert dead.take()
    _age(job_id, 10)

    provider.poll(job_id)
    provider.poll(job_id)  # the lease is fresh again: no second message

    assert provider.sent == [job_id, job_id]
    assert RenderLease.objects.get(job_id=job_id).holder == ""
    provider.run(job_id)
    job = RenderLease.objects.get(job_id=job_id)
    assert (job.state, job.progress, job.holder) == ("completed", 100, "")
    assert job.outputs == [f"{STORAGE_ROOT}/{job_id}/video-0.mp4"]
    with pytest.raises(LeaseLost):  # the old holder, should it wake, stops
        dead.beat(force=True)


def test_cancel_reaches_the_render_through_its_lease(provider):
    job_id = _submit(provider, seconds=4)
    provider.cancel(job_id)
    assert RenderLease.objects.get(job_id=job_id).cancel_requested

    provider.run(job_id)

    assert provider.poll(job_id).state == JobState.CANCELED
    assert RenderLease.objects.get(job_id=job_id).outputs == []
    assert not default_storage.exists(f"{STORAGE_ROOT}/{job_id}/video-0.mp4")


def test_release_forgets_the_job_and_its_stored_files(provider):
    job_id = _submit(provider)
    provider.run(job_id)
    (output,) = RenderLease.objects.get(job_id=job_id).outputs
    assert default_storage.exists(output)

    provider.release(job_id)

    assert not RenderLease.objects.filter(job_id=job_id).exists()
    assert not default_storage.exists(output)
    with pytest.raises(PermanentError, match="lost"):
        provider.poll(job_id)
