"""One watermarked copy per video: parallel requests send one make_delivery task, and a
duplicate task that loses leaves no file behind."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from delivery import finishing
from generations.models import Video
from tests.conftest import put_on_plan
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


@pytest.fixture
def downgraded(user) -> Video:
    """A video finished on a watermark-free plan whose owner is now on a watermarked one."""
    video = make_finished(put_on_plan(user, "Pro")).videos.get()
    put_on_plan(user, "Plus")
    assert not video.delivery
    return video


def _stored(video: Video) -> list[str]:
    return sorted(default_storage.listdir(f"videos/{video.owner_id}/{video.pk}")[1])


def test_parallel_requests_for_a_missing_copy_send_one_task(downgraded, monkeypatch):
    sent: list[tuple[str, ...]] = []
    monkeypatch.setattr(finishing, "enqueue", lambda name, *args, **kw: sent.append((name, *args)))

    for _ in range(3):
        with pytest.raises(finishing.DeliveryPending):
            finishing.served_file(Video.objects.get(pk=downgraded.pk))

    assert sent == [(finishing.MAKE_DELIVERY_TASK, str(downgraded.pk))]


def test_a_duplicate_delivery_task_leaves_no_orphan_file(downgraded):
    first = Video.objects.get(pk=downgraded.pk)
    late = Video.objects.get(pk=downgraded.pk)  # read before the first task saved

    finishing.video_make_delivery(first)
    finishing.video_make_delivery(late)

    video = Video.objects.get(pk=downgraded.pk)
    assert video.delivery.name.endswith("/delivery.mp4")
    assert _stored(video) == sorted(
        name.rsplit("/", 1)[1] for name in (video.file.name, video.delivery.name, video.poster.name)
    )
    assert len(_stored(video)) == 3
