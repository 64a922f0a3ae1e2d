"""Uploads through the dashboard: the type comes from the content; every bad file gets a
clear error and leaves no row and no file behind."""

from __future__ import annotations

import functools
import io
import struct
import tempfile
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from generations import services
from generations.models import Asset

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_media_folder(settings, tmp_path):
    """A fresh media folder per test, so "no file left behind" sees only this test."""
    settings.MEDIA_ROOT = tmp_path / "media"


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buf, "PNG")
    return buf.getvalue()


@functools.cache  # encoded once per session: every test gets the same immutable bytes
def mp4_bytes(frames: int = 12, size: tuple[int, int] = (64, 48), faststart: bool = True) -> bytes:
    options = {"movflags": "+faststart"} if faststart else {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        _encode(path, frames, size, options)
        return path.read_bytes()


def _encode(path: Path, frames: int, size: tuple[int, int], options: dict[str, str]) -> None:
    with av.open(str(path), "w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            image = np.full((size[1], size[0], 3), i * 20 % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A small file whose header declares a huge image (the decompression-bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" + b"\x00" * 3 * 16, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def upload_asset(owner, name: str = "ref.png", data: bytes | None = None) -> Asset:
    return services.asset_create(
        owner=owner, upload=SimpleUploadedFile(name, data or png_bytes(), "image/png")
    )


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "assets"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _post(client, name: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.post(
        reverse("asset_upload"),
        {"file": SimpleUploadedFile(name, data, content_type)},
        headers={"HX-Request": "true"},
    )


def test_a_png_upload_is_stored_with_its_probe_and_thumbnail(owner_client, user):
    response = _post(owner_client, "sunset.png", png_bytes((640, 360)), "image/png")

    assert response.status_code == 200
    asset = Asset.objects.get(owner=user)
    assert (asset.kind, asset.mime, asset.width, asset.height) == ("image", "image/png", 640, 360)
    assert len(asset.sha256) == 64
    assert asset.thumbnail
    assert "sunset.png" in response.content.decode()
    assert owner_client.get(reverse("asset_thumbnail", args=[asset.pk])).status_code == 200


def test_an_mp4_upload_is_probed_as_video(owner_client, user):
    _post(owner_client, "clip.mp4", mp4_bytes(), "video/mp4")

    asset = Asset.objects.get(owner=user)
    assert (asset.kind, asset.width, asset.height) == ("video", 64, 48)
    assert asset.duration == pytest.approx(1.0, abs=0.1)


def test_a_png_named_mp4_is_taken_for_what_it_is(owner_client, user):
    _post(owner_client, "trick.mp4", png_bytes(), "video/mp4")
    asset = Asset.objects.get(owner=user)
    assert (asset.kind, asset.mime, asset.extension) == ("image", "image/png", "png")


def test_an_mp4_named_png_is_taken_for_what_it_is(owner_client, user):
    _post(owner_client, "trick.png", mp4_bytes(), "image/png")
    asset = Asset.objects.get(owner=user)
    assert (asset.kind, asset.extension) == ("video", "mp4")


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("empty.png", lambda: b"", "empty"),
        (
            "cut.mp4",
            lambda: mp4_bytes(frames=24)[: len(mp4_bytes(frames=24)) // 2],
            "damaged or truncated",
        ),
        (
            "cut-moov-last.mp4",
            lambda: mp4_bytes(frames=24, faststart=False)[
                : len(mp4_bytes(frames=24, faststart=False)) // 2
            ],
            "damaged or truncated",
        ),
        ("bomb.png", bomb_png, "megapixels"),
        (
            "drawing.svg",
            lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
            "SVG",
        ),
        ("notes.txt", lambda: b"hello, not an image", "not a supported"),
    ],
)
def test_a_bad_file_gets_a_clear_error_and_leaves_nothing(owner_client, name, make, message):
    response = _post(owner_client, name, make())

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="errors"' in html
    assert message.lower() in html.lower()
    assert not Asset.objects.exists()
    assert _media_files() == []


def test_an_over_limit_file_is_refused(owner_client, settings):
    settings.STUDIO_UPLOAD_MAX_BYTES = 1000
    response = _post(owner_client, "big.png", png_bytes((400, 400)) + b"\0" * 2000)
    assert "larger than" in response.content.decode()
    assert not Asset.objects.exists()
    assert _media_files() == []


def test_deleting_an_asset_removes_its_files(owner_client, user):
    asset = upload_asset(user)
    paths = [Path(asset.file.path), Path(asset.thumbnail.path)]
    assert all(p.is_file() for p in paths)
    assert sorted(_media_files()) == sorted(paths)

    response = owner_client.post(
        reverse("asset_delete", args=[asset.pk]), headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert not Asset.objects.exists()
    assert not any(p.exists() for p in paths)
    assert _media_files() == []


def test_another_users_asset_is_404(client, other_user, user):
    asset = upload_asset(user)
    client.force_login(other_user)
    assert client.get(reverse("asset_thumbnail", args=[asset.pk])).status_code == 404
    assert client.post(reverse("asset_delete", args=[asset.pk])).status_code == 404
    assert Asset.objects.filter(pk=asset.pk).exists()
