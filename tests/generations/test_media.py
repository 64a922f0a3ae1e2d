"""The offline renderer and the media probes, on real files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from generations.media import MediaError
from generations.media.probe import probe_upload, probe_video
from generations.media.render import RenderCanceled, render_title_card, title_card_frames
from generations.media.stills import extract_poster, make_thumbnail

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 40_000_000, "max_video_seconds": 60}


def render(tmp_path: Path, name: str = "out.mp4", **kwargs) -> Path:
    args = {
        "prompt": "a red kite over green hills",
        "width": 160,
        "height": 90,
        "seconds": 1,
        "fps": 12,
        "seed": 1,
    }
    args.update(kwargs)
    out = tmp_path / name
    render_title_card(out_path=out, **args)
    return out


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize(("width", "height"), [(320, 180), (180, 320), (240, 240)])
def test_the_renderer_writes_h264_at_exactly_the_requested_size_and_length(tmp_path, width, height):
    out = render(tmp_path, width=width, height=height, seconds=2, fps=24)

    probe = probe_video(out)
    assert (probe.codec, probe.pix_fmt) == ("h264", "yuv420p")
    assert (probe.width, probe.height) == (width, height)
    assert probe.fps == 24
    assert len(frames_of(out)) == 48
    assert probe.duration == pytest.approx(2, abs=1 / 24)


def test_the_moov_atom_comes_first_so_browsers_can_start_playing_at_once(tmp_path):
    data = render(tmp_path).read_bytes()
    assert 0 < data.index(b"moov") < data.index(b"mdat")


def _card(**kwargs) -> list[np.ndarray]:
    args = {
        "prompt": "a red kite over green hills",
        "width": 160,
        "height": 90,
        "seconds": 1,
        "fps": 12,
        "seed": 1,
    }
    return list(title_card_frames(**{**args, **kwargs}))


def test_the_same_arguments_give_the_same_pixels_and_others_do_not():
    a, b = _card(), _card()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[-1], _card(prompt="a blue whale in deep water")[-1])
    assert not np.array_equal(a[-1], _card(seed=2)[-1])


def _psnr(x: np.ndarray, y: np.ndarray) -> float:
    mse = np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def test_the_same_arguments_decode_to_the_same_picture(tmp_path):
    a = frames_of(render(tmp_path, "a.mp4"))
    b = frames_of(render(tmp_path, "b.mp4"))
    other = frames_of(render(tmp_path, "c.mp4", prompt="a blue whale in deep water"))
    assert min(_psnr(x, y) for x, y in zip(a, b, strict=True)) > 40
    assert _psnr(a[-1], other[-1]) < 30


def test_a_reference_image_becomes_the_backdrop(tmp_path):
    reference = tmp_path / "ref.png"
    Image.new("RGB", (400, 300), (250, 250, 0)).save(reference)

    plain = frames_of(render(tmp_path, "plain.mp4"))[0]
    backed = frames_of(render(tmp_path, "backed.mp4", reference_image=reference))[0]

    corner = backed[5:20, 5:20].astype(int)
    assert corner[..., 0].mean() > 150 and corner[..., 1].mean() > 150  # yellow shows through
    assert not np.array_equal(plain, backed)


def test_progress_rises_to_one_and_cancel_leaves_no_file(tmp_path):
    seen: list[float] = []
    render(tmp_path, on_progress=seen.append, seconds=2)
    assert seen == sorted(seen) and seen[-1] == 1.0

    calls = iter(range(100))
    with pytest.raises(RenderCanceled):
        render(tmp_path, "canceled.mp4", seconds=3, should_cancel=lambda: next(calls) >= 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_webm_and_mov_uploads_are_recognised_by_content(tmp_path):
    for fmt, codec, kind, mime in [
        ("webm", "libvpx-vp9", "webm", "video/webm"),
        ("mov", "libx264", "mov", "video/quicktime"),
    ]:
        path = tmp_path / f"clip.bin-{fmt}"
        with av.open(str(path), "w", format=fmt) as container:
            stream = container.add_stream(codec, rate=10)
            stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
            for i in range(10):
                image = np.full((64, 64, 3), i * 20, np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        info = probe_upload(path, **LIMITS)
        assert (info.kind, info.mime, info.extension) == ("video", mime, kind)
        assert info.duration == pytest.approx(1.0, abs=0.15)


def test_jpeg_and_webp_uploads_are_recognised_by_content(tmp_path):
    for fmt, mime in [("JPEG", "image/jpeg"), ("WEBP", "image/webp")]:
        path = tmp_path / "image.dat"
        Image.new("RGB", (123, 45), (1, 2, 3)).save(path, fmt)
        info = probe_upload(path, **LIMITS)
        assert (info.kind, info.mime, info.width, info.height) == ("image", mime, 123, 45)


def test_a_video_over_the_length_limit_is_refused(tmp_path):
    clip = render(tmp_path, seconds=2)
    with pytest.raises(MediaError, match="longer than 1 seconds"):
        probe_upload(clip, **{**LIMITS, "max_video_seconds": 1})


def test_posters_and_thumbnails_are_jpegs_of_bounded_size(tmp_path):
    clip = render(tmp_path, width=320, height=180)
    assert extract_poster(clip, tmp_path / "poster.jpg", max_width=160) == (160, 90)
    image = tmp_path / "big.png"
    Image.new("RGBA", (1000, 500), (9, 9, 9, 0)).save(image)
    assert make_thumbnail(image, tmp_path / "thumb.jpg") == (320, 160)
    with Image.open(tmp_path / "thumb.jpg") as thumb:
        assert thumb.format == "JPEG"
