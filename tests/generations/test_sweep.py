"""Every file of a video goes with it, however it is deleted, and the orphan sweep removes
what no row names (and nothing that one does)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from generations.models import Generation
from generations.services import orphans_sweep
from providers.offline.models import RenderLease
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db(transaction=True)


def _files(video) -> list[str]:
    folder = f"videos/{video.owner_id}/{video.pk}"
    return sorted(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else []


def test_deleting_a_generation_deletes_every_file_of_its_videos(user):
    generation = make_finished(user)
    video = generation.videos.get()
    assert _files(video) == ["delivery.mp4", "master.mp4", "poster.jpg"]

    Generation.objects.filter(pk=generation.pk).delete()  # as the admin does: a cascade

    assert _files(video) == []


def test_the_sweep_removes_orphans_and_keeps_what_a_row_names(user, capsys, settings, tmp_path):
    # Media and work files of this test alone (other tests' files outlive their rows).
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STUDIO_WORK_DIR = tmp_path / "work"
    video = make_finished(user).videos.get()
    folder = f"videos/{video.owner_id}/{video.pk}"
    default_storage.save(f"{folder}/video.mp4", ContentFile(b"provider output"))
    default_storage.save(f"{folder}/delivery_Ab12Cd3.mp4", ContentFile(b"a lost duplicate"))
    gone = f"videos/{video.owner_id}/00000000-0000-0000-0000-000000000000/master.mp4"
    default_storage.save(gone, ContentFile(b"of a deleted video"))
    # An offline job that ended without being downloaded, and the files of a submission
    # that died before its row was made.
    ended = "work/offline/offline-ended-job/video-0.mp4"
    ended = default_storage.save(ended, ContentFile(b"render of a job that ended"))
    RenderLease.objects.create(
        job_id="offline-ended-job", beat_at=timezone.now(), spec={"variations": 1}, outputs=[ended]
    )
    half = default_storage.save("work/offline/offline-half-made/reference", ContentFile(b"png"))

    assert orphans_sweep(older_than=3600) == {"files": 0, "job_folders": 0}  # grace period
    call_command("sweep_orphans", "--older-than", "0")

    assert "deleted 3 file(s), 2 job folder(s)" in capsys.readouterr().out
    assert _files(video) == ["delivery.mp4", "master.mp4", "poster.jpg"]
    assert not default_storage.exists(gone)
    assert not default_storage.exists(ended) and not default_storage.exists(half)
    assert not RenderLease.objects.exists()
