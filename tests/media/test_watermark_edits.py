"""The invisible mark read back from copies edited the way the internet edits them: trimmed,
spliced between other footage, sped up, reframed for a vertical feed, mirrored, rotated. Each
copy is a real decode, edit and libx264 re-encode (tests/media/attacks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.render import render_title_card
from media.watermark import make_renditions, read_watermark
from tests.media import attacks
from tests.media.test_watermark import write_textured

PAYLOAD = 0xC0FFEE42
SIZE = (640, 360)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 4 s title card, its master, and 2 s of other (textured, never-marked) footage."""
    folder = tmp_path_factory.mktemp("edits")
    card = folder / "card.mp4"
    render_title_card(
        out_path=card,
        prompt="a red kite over green hills",
        width=SIZE[0],
        height=SIZE[1],
        seconds=4,
        fps=24,
        seed=3,
    )
    master = folder / "master.mp4"
    make_renditions(card, payload=PAYLOAD, master=master)
    other = write_textured(folder / "other.mp4", SIZE, 2.0, audio=False)
    return {"card": card, "master": master, "other": other}


def test_an_unedited_copy_is_read_by_the_plain_reader_and_says_so(clips):
    reading = read_watermark(clips["master"])

    assert reading.payload == PAYLOAD
    assert (reading.geometry, reading.speed, reading.start) == ("whole frame", 1.0, 0.0)
    assert reading.end == pytest.approx(4.0, abs=0.1)


@pytest.mark.parametrize("seconds", [0.5, 1.3])
def test_a_copy_with_its_start_cut_reads_back(clips, tmp_path, seconds):
    copy = attacks.trim(clips["master"], tmp_path / "trimmed.mp4", seconds)

    reading = read_watermark(copy)

    assert (reading.found, reading.payload) == (True, PAYLOAD)
    assert reading.geometry is not None and "mirrored" not in reading.geometry
    assert reading.speed == pytest.approx(1.0, abs=0.03)


def test_a_copy_spliced_after_other_footage_reads_back_and_says_where(clips, tmp_path):
    copy = attacks.splice(clips["master"], tmp_path / "spliced.mp4", clips["other"])

    reading = read_watermark(copy)

    assert (reading.found, reading.payload) == (True, PAYLOAD)
    assert reading.start is not None and reading.end is not None
    assert 1.0 <= reading.start <= 2.5  # the marked footage starts 2 s in ...
    assert reading.end >= 5.0  # ... and runs to the end, 6 s


def test_a_copy_played_at_one_and_a_quarter_speed_reads_back(clips, tmp_path):
    copy = attacks.speed(clips["master"], tmp_path / "fast.mp4", 1.25)

    reading = read_watermark(copy)

    assert (reading.found, reading.payload) == (True, PAYLOAD)
    assert reading.speed == pytest.approx(1.25, abs=0.03)


def test_a_vertical_reframe_of_a_landscape_copy_reads_back(clips, tmp_path):
    copy = attacks.geometric(clips["master"], tmp_path / "vertical.mp4", attacks.reframe(9 / 16))

    reading = read_watermark(copy)

    assert (reading.found, reading.payload) == (True, PAYLOAD)
    assert reading.geometry is not None and reading.geometry.startswith("reframe")


def test_a_mirrored_copy_reads_back(clips, tmp_path):
    copy = attacks.geometric(clips["master"], tmp_path / "mirrored.mp4", attacks.flip)

    reading = read_watermark(copy)

    assert (reading.found, reading.payload) == (True, PAYLOAD)
    assert reading.geometry is not None and reading.geometry.endswith("mirrored")


def test_a_cropped_and_a_rotated_copy_read_back(clips, tmp_path):
    cropped = attacks.geometric(
        clips["master"], tmp_path / "cropped.mp4", attacks.crop(0.1, back=True)
    )
    rotated = attacks.geometric(clips["master"], tmp_path / "rotated.mp4", attacks.rotate(3))

    assert read_watermark(cropped).payload == PAYLOAD
    assert read_watermark(rotated).payload == PAYLOAD


def test_edited_copies_of_never_marked_footage_read_as_not_found(clips, tmp_path):
    copies = [
        attacks.trim(clips["card"], tmp_path / "trimmed.mp4", 0.5),
        attacks.geometric(clips["card"], tmp_path / "mirrored.mp4", attacks.flip),
        attacks.splice(clips["card"], tmp_path / "spliced.mp4", clips["other"]),
    ]
    for copy in copies:
        reading = read_watermark(copy)
        assert (reading.found, reading.payload, reading.geometry) == (False, None, None)
