"""Range requests on stored files: any header, however long or odd, gets 200, 206 or 416."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from core.serving import serve_file
from tests.factories import make_generation, make_video
from tests.fuzz import fuzz

pytestmark = pytest.mark.django_db

BODY = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def stored(user):
    video = make_video(make_generation(user))
    video.file.save("range.bin", ContentFile(BODY), save=True)
    yield video.file
    video.file.delete(save=False)


def _get(field_file, range_header: str):
    request = RequestFactory().get("/", headers={"Range": range_header})
    response = serve_file(request, field_file, content_type="application/octet-stream")
    body = b"".join(response.streaming_content) if response.status_code != 416 else b""
    return response, body


@pytest.mark.parametrize(
    "header",
    [
        "bytes=" + "9" * 5000 + "-",
        "bytes=0-" + "9" * 5000,
        "bytes=-" + "9" * 5000,
    ],
)
def test_a_range_with_a_5000_digit_number_is_answered_not_a_500(stored, header):
    response, body = _get(stored, header)
    if header.startswith("bytes=9"):
        assert response.status_code == 416
        assert response["Content-Range"] == f"bytes */{len(BODY)}"
    else:
        # The end past the file is the file's end; a suffix longer than the file is all of it.
        assert response.status_code == 206
        assert body == BODY
        assert response["Content-Range"] == f"bytes 0-{len(BODY) - 1}/{len(BODY)}"


@fuzz(150)
@given(
    header=st.one_of(
        st.text(max_size=60),
        st.builds(
            "bytes={}-{}".format,
            st.one_of(st.just(""), st.integers(0, 10**30).map(str)),
            st.one_of(st.just(""), st.integers(0, 10**30).map(str)),
        ),
    )
)
def test_any_range_header_gets_200_206_or_416_with_the_right_bytes(stored, header):
    if any(c in header for c in "\r\n\x00"):
        header = header.replace("\r", "").replace("\n", "").replace("\x00", "")
    response, body = _get(stored, header)
    assert response.status_code in (200, 206, 416)
    if response.status_code == 200:
        assert body == BODY
    elif response.status_code == 206:
        first, last = (
            int(v) for v in response["Content-Range"].split()[1].split("/")[0].split("-")
        )
        assert body == BODY[first : last + 1]
        assert int(response["Content-Length"]) == len(body) > 0
