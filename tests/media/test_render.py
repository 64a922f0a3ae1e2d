"""The offline title-card renderer, checked by decoding what it writes."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from media import MediaError
from media import render as render_module
from media.render import RenderCanceled, render_title_card

CARD = {
    "prompt": "a red kite over green hills",
    "width": 160,
    "height": 90,
    "seconds": 0.5,
    "fps": 12,
    "seed": 1,
}


def render(tmp_path: Path, name: str = "card.mp4", **changes: object) -> Path:
    out = tmp_path / name
    render_title_card(out_path=out, **{**CARD, **changes})
    return out


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def top_level_boxes(path: Path) -> list[bytes]:
    data = path.read_bytes()
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        boxes.append(kind)
        offset += size or len(data)
    return boxes


@pytest.mark.parametrize(
    ("width", "height"), [(320, 180), (180, 320), (240, 240)], ids=["16:9", "9:16", "1:1"]
)
def test_the_card_is_h264_yuv420p_with_exactly_the_requested_size_and_frames(
    tmp_path, width, height
):
    out = render(tmp_path, width=width, height=height, seconds=0.7, fps=12)

    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.codec_context.width, stream.codec_context.height) == (width, height)
        duration = float(stream.duration * stream.time_base)
        frames = list(container.decode(stream))
    assert len(frames) == round(0.7 * 12) == 8
    assert {(f.width, f.height) for f in frames} == {(width, height)}
    assert duration == pytest.approx(8 / 12, abs=1 / 12)


def test_the_movie_header_comes_before_the_media_data_so_browsers_play_at_once(tmp_path):
    boxes = top_level_boxes(render(tmp_path))

    assert boxes.index(b"moov") < boxes.index(b"mdat")


def test_the_same_arguments_decode_to_identical_frames(tmp_path):
    first = decoded(render(tmp_path, "a.mp4"))
    second = decoded(render(tmp_path, "b.mp4"))

    assert len(first) == len(second) == 6
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


@pytest.mark.parametrize("change", [{"prompt": "a blue whale in deep water"}, {"seed": 2}])
def test_another_prompt_or_seed_gives_other_frames(tmp_path, change):
    base = decoded(render(tmp_path, "a.mp4"))[-1]
    other = decoded(render(tmp_path, "b.mp4", **change))[-1]

    assert np.abs(base.astype(int) - other.astype(int)).mean() > 5


def test_a_reference_image_becomes_the_backdrop(tmp_path):
    reference = tmp_path / "reference.png"
    Image.new("RGB", (400, 300), (250, 250, 0)).save(reference)

    plain = decoded(render(tmp_path, "plain.mp4"))[0]
    backed = decoded(render(tmp_path, "backed.mp4", reference_image=reference))[0]

    corner = backed[4:16, 4:16].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 150 and corner[1] > 150 and corner[2] < 110  # yellow shows through
    assert not np.array_equal(plain, backed)


def test_progress_rises_to_exactly_one(tmp_path):
    seen: list[float] = []
    render(tmp_path, on_progress=seen.append)

    assert seen == sorted(seen)
    assert all(0 <= f <= 1 for f in seen)
    assert seen[-1] == 1.0


def test_progress_is_reported_at_most_about_ten_times_a_second(tmp_path, monkeypatch):
    clock = iter(i * 0.02 for i in range(10_000))  # every look at the clock: 20 ms later
    monkeypatch.setattr(render_module.time, "monotonic", lambda: next(clock))
    seen: list[float] = []

    render(tmp_path, seconds=2, on_progress=seen.append)

    assert 2 <= len(seen) <= 24 * 0.02 / 0.1 + 2
    assert seen[-1] == 1.0


def test_a_cancel_raises_and_leaves_no_file(tmp_path):
    asked: list[bool] = []

    def should_cancel() -> bool:
        asked.append(True)
        return len(asked) > 1

    with pytest.raises(RenderCanceled):
        render(tmp_path, seconds=2, should_cancel=should_cancel)

    assert list(tmp_path.iterdir()) == []


def test_a_failed_render_leaves_no_file(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")

    with pytest.raises(MediaError, match="reference image"):
        render(tmp_path, reference_image=broken)

    assert [p.name for p in tmp_path.iterdir()] == ["broken.png"]


def test_odd_frame_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="even"):
        render(tmp_path, width=161)
    assert list(tmp_path.iterdir()) == []
