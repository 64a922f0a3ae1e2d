"""The whole pipeline on object storage, against a real S3-compatible server on loopback:
generate, finish, serve (presigned redirect and streaming, with Range), delete; the
watermark rule holds in both serving modes."""

from __future__ import annotations

import io
import urllib.request
import uuid
from collections.abc import Iterator

import av
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generations import services
from generations.models import Video
from tests.conftest import put_on_plan
from tests.generations.test_uploads import png_bytes
from tests.objectstore import S3Server, on_s3, start_s3_server
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = start_s3_server()
    yield server
    server.server.stop()


@pytest.fixture
def bucket(s3: S3Server) -> Iterator[str]:
    name = f"studio-{uuid.uuid4().hex[:12]}"
    yield name


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()


def _frame_count(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_generate_finish_and_serve_through_presigned_redirects(s3, bucket, user, owner_client):
    with on_s3(s3, bucket, serve="redirect"):
        video = make_finished(user).videos.get()
        keys = s3.keys(bucket)
        # Every file of the video is an object under the prefix, none on a local disk.
        for field in (video.file, video.delivery, video.poster):
            assert f"media/{field.name}" in keys
        response = owner_client.get(reverse("video_file", args=[video.pk]) + "?download=1")
        assert response.status_code == 302
        assert response["Cache-Control"] == "private, no-store"
        status, headers, data = _fetch(response["Location"])
        assert status == 200
        # A Plus creator's link is to the watermarked copy, never the master.
        assert (
            data
            == s3.client()
            .get_object(Bucket=bucket, Key=f"media/{video.delivery.name}")["Body"]
            .read()
        )
        assert data != video.file.read()
        assert headers["content-type"] == "video/mp4"
        assert "attachment" in headers["content-disposition"]
        assert _frame_count(data) == video.generation.seconds * video.fps
        # The bucket answers the player's Range requests on the same link.
        status, headers, part = _fetch(response["Location"], {"Range": "bytes=10-109"})
        assert status == 206 and part == data[10:110]


def test_streaming_mode_serves_ranges_from_the_bucket(s3, bucket, other_user, client):
    put_on_plan(other_user, "Pro")
    client.force_login(other_user)
    with on_s3(s3, bucket, serve="stream"):
        video = make_finished(other_user).videos.get()
        master = s3.client().get_object(Bucket=bucket, Key=f"media/{video.file.name}")["Body"]
        master_bytes = master.read()
        whole = client.get(reverse("video_file", args=[video.pk]))
        assert whole.status_code == 200
        assert int(whole["Content-Length"]) == len(master_bytes)
        assert _body(whole) == master_bytes  # a watermark-free plan gets the master
        part = client.get(reverse("video_file", args=[video.pk]), HTTP_RANGE="bytes=100-")
        assert part.status_code == 206
        assert part["Content-Range"] == f"bytes 100-{len(master_bytes) - 1}/{len(master_bytes)}"
        assert _body(part) == master_bytes[100:]
        tail = client.get(reverse("video_file", args=[video.pk]), HTTP_RANGE="bytes=-50")
        assert _body(tail) == master_bytes[-50:]
        poster = client.get(reverse("video_poster", args=[video.pk]))
        assert poster.status_code == 200 and _body(poster)[:2] == b"\xff\xd8"


def test_deleting_a_video_removes_its_objects(s3, bucket, user, owner_client):
    with on_s3(s3, bucket, serve="redirect"):
        video = make_finished(user).videos.get()
        response = owner_client.post(reverse("video_delete", args=[video.pk]))
        assert response.status_code == 302
        assert not Video.objects.filter(pk=video.pk).exists()
        assert s3.keys(bucket) == []


def test_an_upload_streams_to_the_bucket(s3, bucket, user, owner_client):
    with on_s3(s3, bucket):
        upload = SimpleUploadedFile("ref.png", png_bytes((64, 64)), content_type="image/png")
        asset = services.asset_create(owner=user, upload=upload)
        assert f"media/{asset.file.name}" in s3.keys(bucket)
