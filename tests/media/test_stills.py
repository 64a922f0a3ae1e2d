"""Posters and thumbnails: JPEGs of the right frame, size and orientation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from media import MediaError
from media.stills import extract_poster, make_thumbnail, video_thumbnail


def opened(path):
    with Image.open(path) as image:
        image.load()
        return image


def test_the_poster_is_a_jpeg_no_wider_than_asked(make_video, tmp_path):
    clip = make_video(size=(320, 180))

    assert extract_poster(clip, tmp_path / "poster.jpg", max_width=160) == (160, 90)
    poster = opened(tmp_path / "poster.jpg")
    assert (poster.format, poster.size) == ("JPEG", (160, 90))


def test_a_small_video_keeps_its_size_as_poster(make_video, tmp_path):
    clip = make_video(size=(96, 64))

    assert extract_poster(clip, tmp_path / "poster.jpg") == (96, 64)


def test_the_poster_shows_the_frame_at_the_asked_fraction(make_video, tmp_path):
    clip = make_video(frames=10, fps=10)  # frame i is grey level 20 * i

    extract_poster(clip, tmp_path / "start.jpg", at_fraction=0.0)
    extract_poster(clip, tmp_path / "later.jpg", at_fraction=0.4)

    def grey(name: str) -> float:
        return float(np.median(np.asarray(opened(tmp_path / name).convert("L"))))

    assert grey("start.jpg") == pytest.approx(0, abs=6)
    assert grey("later.jpg") == pytest.approx(80, abs=6)


def test_an_unreadable_video_gives_a_media_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypisom not a movie")

    with pytest.raises(MediaError):
        extract_poster(bad, tmp_path / "poster.jpg")


@pytest.mark.parametrize(
    ("format", "mode", "size", "expected"),
    [
        ("PNG", "RGBA", (1000, 500), (320, 160)),
        ("JPEG", "RGB", (500, 1000), (160, 320)),
        ("WEBP", "RGBA", (640, 640), (320, 320)),
        ("PNG", "L", (100, 50), (100, 50)),
    ],
    ids=["png-alpha", "jpeg-portrait", "webp-alpha", "small-grey"],
)
def test_thumbnails_are_jpegs_that_fit_the_box_and_are_never_enlarged(
    make_image, tmp_path, format, mode, size, expected
):
    source = make_image(f"source.{format.lower()}", format, size=size, mode=mode)

    assert make_thumbnail(source, tmp_path / "thumb.jpg") == expected
    thumb = opened(tmp_path / "thumb.jpg")
    assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", expected)


def test_a_thumbnail_follows_the_exif_orientation(tmp_path):
    source = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    Image.new("RGB", (400, 200), (10, 120, 200)).save(source, "JPEG", exif=exif)

    assert make_thumbnail(source, tmp_path / "thumb.jpg") == (160, 320)


def test_transparent_pixels_become_the_dark_tile_colour(make_image, tmp_path):
    source = tmp_path / "clear.png"
    Image.new("RGBA", (64, 64), (255, 255, 255, 0)).save(source)

    make_thumbnail(source, tmp_path / "thumb.jpg")

    r, g, b = opened(tmp_path / "thumb.jpg").getpixel((32, 32))
    assert max(r, g, b) < 40


def test_an_unreadable_image_gives_a_media_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")

    with pytest.raises(MediaError):
        make_thumbnail(bad, tmp_path / "thumb.jpg")


def test_a_video_thumbnail_is_its_first_frame_fitted_to_the_box(make_video, tmp_path):
    clip = make_video(size=(180, 320))

    assert video_thumbnail(clip, tmp_path / "thumb.jpg", max_size=(90, 90)) == (51, 90)
    assert opened(tmp_path / "thumb.jpg").format == "JPEG"
