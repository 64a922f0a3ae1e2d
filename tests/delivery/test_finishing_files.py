"""Finishing keeps exactly the files a video needs: the provider's download it replaced is
removed from storage, the served copies and the poster stay."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from tests.conftest import put_on_plan
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


def _stored(video) -> list[str]:
    folder = video.file.name.rsplit("/", 1)[0]
    return sorted(default_storage.listdir(folder)[1])


def test_a_watermarked_plan_keeps_master_delivery_and_poster_only(user):
    video = make_finished(user).videos.get()
    assert _stored(video) == ["delivery.mp4", "master.mp4", "poster.jpg"]
    assert [video.file.name, video.delivery.name] == [
        f"videos/{user.pk}/{video.pk}/master.mp4",
        f"videos/{user.pk}/{video.pk}/delivery.mp4",
    ]


def test_a_watermark_free_plan_keeps_master_and_poster_only(user):
    video = make_finished(put_on_plan(user, "Pro")).videos.get()
    assert _stored(video) == ["master.mp4", "poster.jpg"]
    assert not video.delivery
