"""Upload probing: the real type from content, intact files only, limits with plain messages."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from media import MediaError
from media.probe import probe_upload, probe_video

LIMITS = {"max_bytes": 50 * 1024 * 1024, "max_pixels": 40_000_000, "max_video_seconds": 20.0}
DAMAGED = "The file is damaged or truncated."
needs_vp8 = pytest.mark.skipif(
    "libvpx" not in av.codecs_available, reason="this PyAV build has no libvpx (VP8) encoder"
)
needs_vp9 = pytest.mark.skipif(
    "libvpx-vp9" not in av.codecs_available, reason="this PyAV build has no VP9 encoder"
)


def png_declaring(width: int, height: int) -> bytes:
    """A valid tiny PNG file whose header claims ``width`` x ``height`` (a pixel bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    pixels = zlib.compress(b"\x00" * 4096)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def refusal(path: Path, **limits: object) -> str:
    with pytest.raises(MediaError) as caught:
        probe_upload(path, **{**LIMITS, **limits})
    return str(caught.value)


@pytest.mark.parametrize(
    ("format", "mime", "extension", "mode"),
    [
        ("JPEG", "image/jpeg", "jpg", "RGB"),
        ("PNG", "image/png", "png", "RGBA"),
        ("WEBP", "image/webp", "webp", "RGB"),
    ],
)
def test_each_image_type_is_accepted_with_its_size_and_digest(
    make_image, format, mime, extension, mode
):
    path = make_image("upload.bin", format, size=(123, 45), mode=mode)

    info = probe_upload(path, **LIMITS)

    assert (info.kind, info.mime, info.extension) == ("image", mime, extension)
    assert (info.width, info.height, info.duration) == (123, 45, None)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.size_bytes == path.stat().st_size


@pytest.mark.parametrize(
    ("container", "codec", "mime", "extension"),
    [
        ("mp4", "libx264", "video/mp4", "mp4"),
        ("mov", "libx264", "video/quicktime", "mov"),
        pytest.param("webm", "libvpx-vp9", "video/webm", "webm", marks=needs_vp9),
        pytest.param("webm", "libvpx", "video/webm", "webm", marks=needs_vp8),
    ],
)
def test_each_video_type_is_accepted_with_its_size_and_duration(
    make_video, container, codec, mime, extension
):
    path = make_video("upload.bin", container=container, codec=codec, size=(96, 64))

    info = probe_upload(path, **LIMITS)

    assert (info.kind, info.mime, info.extension) == ("video", mime, extension)
    assert (info.width, info.height) == (96, 64)
    assert info.duration == pytest.approx(1.0, abs=1 / 12)
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@needs_vp8
def test_a_live_webm_recording_of_unknown_length_is_accepted(make_video):
    path = make_video("recording.webm", container="webm", codec="libvpx", live=True)

    assert probe_upload(path, **LIMITS).mime == "video/webm"


def test_the_type_comes_from_the_content_not_the_name(make_image, make_video):
    png_named_mp4 = make_image("holiday.mp4", "PNG")
    mp4_named_png = make_video("holiday.png")

    assert probe_upload(png_named_mp4, **LIMITS).mime == "image/png"
    assert probe_upload(mp4_named_png, **LIMITS).kind == "video"


@pytest.mark.parametrize("faststart", [False, True], ids=["moov-last", "faststart"])
def test_an_mp4_cut_in_half_is_refused_as_damaged(make_video, tmp_path, faststart):
    whole = make_video(faststart=faststart, frames=24).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])

    assert refusal(cut) == DAMAGED


@pytest.mark.parametrize("missing", [1, 100])
def test_an_mp4_missing_only_its_last_bytes_is_refused_as_damaged(make_video, tmp_path, missing):
    whole = make_video(faststart=True).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[:-missing])

    assert refusal(cut) == DAMAGED


@needs_vp8
@pytest.mark.parametrize("live", [False, True], ids=["seekable", "live"])
def test_a_webm_missing_its_last_bytes_is_refused_as_damaged(make_video, tmp_path, live):
    whole = make_video("clip.webm", container="webm", codec="libvpx", live=live).read_bytes()
    cut = tmp_path / "cut.webm"
    cut.write_bytes(whole[:-10])

    assert refusal(cut) == DAMAGED


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_image_is_refused_as_damaged(make_image, tmp_path, format):
    noisy = Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8))
    whole = tmp_path / "whole"
    noisy.save(whole, format)
    cut = tmp_path / "cut"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])

    assert refusal(cut) == DAMAGED


def test_an_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.touch()

    assert refusal(empty) == "The file is empty."


def test_a_file_over_the_size_limit_is_refused_with_the_limit_in_megabytes(tmp_path):
    big = tmp_path / "big.mp4"
    with big.open("wb") as f:
        f.truncate(50 * 1024 * 1024 + 1)  # sparse: costs no disk

    assert refusal(big) == "The file is larger than 50 MB."


def test_a_small_size_limit_is_named_in_kilobytes(make_image):
    path = make_image("photo.png", "PNG", size=(300, 300))

    assert refusal(path, max_bytes=200) == "The file is larger than 1 KB."


def test_a_png_declaring_30000_by_30000_pixels_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(30_000, 30_000))
    assert bomb.stat().st_size < 200

    assert refusal(bomb) == "Images larger than 40 megapixels are refused."


def test_pillows_own_bomb_guard_also_ends_in_a_plain_refusal(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(100_000, 100_000))

    assert refusal(bomb, max_pixels=10**12) == "Images larger than 89.5 megapixels are refused."


def test_a_genuine_highly_compressible_big_png_is_refused(tmp_path):
    big = tmp_path / "big.png"
    Image.new("L", (7_000, 6_000)).save(big, optimize=False)
    assert big.stat().st_size < 1024 * 1024

    assert refusal(big) == "Images larger than 40 megapixels are refused."


@pytest.mark.parametrize(
    "svg",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
    ],
    ids=["bare", "with-prolog"],
)
def test_svg_is_refused_with_its_own_message(tmp_path, svg):
    path = tmp_path / "logo.png"
    path.write_bytes(svg)

    assert refusal(path) == (
        "SVG files are not supported; upload JPEG, PNG, WebP, MP4, MOV or WebM."
    )


@pytest.mark.parametrize(
    "content",
    [
        b"just some words in a text file\n",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        b"%PDF-1.7\n",
    ],
    ids=["text", "gif", "heic", "pdf"],
)
def test_anything_else_is_refused_as_not_supported(tmp_path, content):
    path = tmp_path / "upload.jpg"
    path.write_bytes(content)

    assert refusal(path) == (
        "This file is not a supported image or video (JPEG, PNG, WebP, MP4, MOV, WebM)."
    )


def test_a_video_over_the_length_limit_is_refused(make_video):
    clip = make_video(frames=24, fps=12)

    assert refusal(clip, max_video_seconds=1.5) == "This video is longer than 1.5 seconds."


def test_a_video_over_the_pixel_limit_is_refused(make_video):
    clip = make_video(size=(320, 180))

    assert refusal(clip, max_pixels=20_000) == "Videos larger than 0.02 megapixels are refused."


def test_an_mp4_with_sound_but_no_picture_is_refused(tmp_path):
    path = tmp_path / "song.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48_000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 48_000, i * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    assert refusal(path) == "This file has no video track."


def test_corrupted_videos_only_ever_raise_media_error(make_video, tmp_path):
    """Random bytes over any part of an MP4 after its first box header: the probe either
    refuses the file with one of its plain messages or describes a video within the limits.
    No decoder exception ever escapes."""
    plain = {
        DAMAGED,
        "This file has no video track.",
        "This file is not a supported image or video (JPEG, PNG, WebP, MP4, MOV, WebM).",
        "Videos larger than 40 megapixels are refused.",
        "This video is longer than 20 seconds.",
    }
    whole = bytearray(make_video(faststart=True).read_bytes())
    rng = np.random.default_rng(7)
    refusals: list[str] = []
    for n in range(12):
        damaged = bytearray(whole)
        start = int(rng.integers(8, len(whole) - 64))
        damaged[start : start + 48] = rng.integers(0, 255, 48, np.uint8).tobytes()
        path = tmp_path / f"damaged-{n}.mp4"
        path.write_bytes(damaged)
        try:
            info = probe_upload(path, **LIMITS)
        except MediaError as refused:
            refusals.append(str(refused))
            continue
        assert (info.kind, info.mime) == ("video", "video/mp4")
        assert 0 < info.width * info.height <= LIMITS["max_pixels"]
        assert info.duration is not None and 0 < info.duration <= LIMITS["max_video_seconds"]
        assert info.sha256 == hashlib.sha256(damaged).hexdigest()

    assert set(refusals) <= plain, refusals
    assert DAMAGED in refusals  # the damage was really seen, not all of it landed in pixels


def test_a_rendered_clip_is_described_for_storage(make_video):
    clip = make_video(size=(160, 90), frames=12, fps=12)

    probe = probe_video(clip)

    assert probe.as_dict() == {
        "codec": "h264",
        "width": 160,
        "height": 90,
        "fps": 12.0,
        "duration": pytest.approx(1.0, abs=1 / 12),
        "frames": 12,
        "size_bytes": clip.stat().st_size,
        "pix_fmt": "yuv420p",
        "has_audio": False,
    }


def test_probe_video_refuses_a_file_that_is_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_bytes(b"hello")

    with pytest.raises(MediaError):
        probe_video(path)
