"""Verify refuses an image whose frame is over the pixel limit from its header alone,
before anything decodes a pixel (a tiny PNG can declare 144 megapixels)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from media.probe import frame_pixels

pytestmark = pytest.mark.django_db


def _png(size) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 128).save(out, "PNG")
    return out.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width``×``height`` and holds one compressed row: the shape of
    a decompression bomb (its header costs nothing to read; its pixels would)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = lambda kind, data: (  # noqa: E731
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    )
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))


def _verify(client, data: bytes) -> str:
    upload = SimpleUploadedFile("check.png", data, content_type="image/png")
    response = client.post(reverse("verify"), {"file": upload})
    assert response.status_code == 200
    return response.content.decode()


@override_settings(STUDIO_UPLOAD_MAX_PIXELS=1_000_000)
def test_verify_refuses_an_image_over_the_pixel_limit(owner_client):
    html = _verify(owner_client, _png((2000, 600)))
    assert "Images and videos up to 1 megapixels can be checked." in html
    assert "<h3>Invisible watermark</h3>" not in html


@override_settings(STUDIO_UPLOAD_MAX_PIXELS=1_000_000)
def test_verify_still_reads_an_image_inside_the_limit(owner_client):
    html = _verify(owner_client, _png((900, 600)))
    assert "megapixels can be checked" not in html
    assert "<h3>Invisible watermark</h3>" in html


def test_a_12000_square_png_is_refused_at_the_default_limit(owner_client):
    html = _verify(owner_client, _png_header_only(12000, 12000))
    assert "Images and videos up to 40 megapixels can be checked." in html


def test_frame_pixels_reads_the_header_only():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bomb.png"
        path.write_bytes(_png_header_only(12000, 12000))
        assert frame_pixels(path) == 144_000_000
        path.write_bytes(b"<html>not an image</html>")
        assert frame_pixels(path) == 0
