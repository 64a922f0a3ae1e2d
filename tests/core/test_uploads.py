"""Upload size is refused before the body is stored: no byte of a too-large file reaches a
later upload handler (memory or temporary file), and the creator gets a clear form error."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadhandler import FileUploadHandler
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from generations.models import Asset

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
RECEIVED: list[int] = []


class RecordingHandler(FileUploadHandler):
    """Stands after our handler, where Django's memory and disk handlers stand: it counts
    the bytes of file data that get past it."""

    def receive_data_chunk(self, raw_data, start):
        RECEIVED.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size):
        return None


HANDLERS = [
    "core.uploads.SizeLimitUploadHandler",
    "tests.core.test_uploads.RecordingHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]


def _png(size=(32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def _recorded():
    RECEIVED.clear()
    with override_settings(FILE_UPLOAD_HANDLERS=HANDLERS, STUDIO_UPLOAD_MAX_BYTES=MB):
        yield


@pytest.mark.parametrize("url", ["asset_upload", "verify"])
def test_a_file_over_the_limit_is_refused_before_a_byte_of_it_is_stored(owner_client, url):
    big = io.BytesIO(_png() + b"\0" * (3 * MB))
    big.name = "big.png"

    response = owner_client.post(reverse(url), {"file": big}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "The file is larger than 1 MB." in response.content.decode()
    assert sum(RECEIVED) == 0
    assert not Asset.objects.exists()


def test_a_file_under_the_limit_is_stored_as_before(owner_client):
    small = io.BytesIO(_png())
    small.name = "small.png"
    response = owner_client.post(
        reverse("asset_upload"), {"file": small}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert sum(RECEIVED) == len(small.getvalue())
    assert Asset.objects.get().kind == "image"


def test_a_file_that_grows_past_the_limit_without_a_declared_length_is_cut_off(rf, user):
    """The declared length can be missing or generous; the handler also counts the bytes."""
    from django.core.files.uploadhandler import StopUpload

    from core.uploads import SizeLimitUploadHandler, upload_refusal

    request = rf.post("/")
    handler = SizeLimitUploadHandler(request)
    handler.handle_raw_input(None, {}, 100, "b")
    handler.new_file("file", "f.png", "image/png", None)
    assert handler.receive_data_chunk(b"x" * MB, 0) == b"x" * MB
    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"x", MB)
    assert request.META["studio.upload_refused"] == "The file is larger than 1 MB."
    assert upload_refusal(request) == "The file is larger than 1 MB."
