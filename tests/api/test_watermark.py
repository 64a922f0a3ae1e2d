"""The watermark rule through /v1/: a watermarked-plan key never receives the master, nor a
thumbnail or spritesheet made from it; a watermark-free plan gets the master."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media.stills import extract_poster
from tests.api.conftest import sdk
from tests.conftest import put_on_plan
from tests.pipeline import make_finished

pytestmark = pytest.mark.django_db(transaction=True)


def _pixels(data: bytes | Path) -> np.ndarray:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    with Image.open(source) as image:
        return np.asarray(image.convert("L").resize((240, 240)), dtype=float)


def test_a_watermarked_plan_gets_no_unmarked_bytes_or_frames_by_any_variant(
    studio, user, key, tmp_path
):
    generation = make_finished(user, prompt="a paper boat on a pond, drifting")
    video = generation.videos.get()
    assert video.delivery, "the Plus plan's video has a watermarked copy"
    master, delivery = video.file.read(), video.delivery.read()
    client = sdk(studio, key)
    vid = "video_" + generation.pk.hex

    served = client.videos.download_content(vid).read()
    assert served == delivery and served != master

    (tmp_path / "master.mp4").write_bytes(master)
    (tmp_path / "delivery.mp4").write_bytes(delivery)
    for variant, fraction in (("thumbnail", 0.4), ("spritesheet", 0.0)):
        data = client.videos.download_content(vid, variant=variant).read()
        got = _pixels(data)
        if variant == "spritesheet":  # its first tile is the first frame
            with Image.open(io.BytesIO(data)) as sheet:
                tile = sheet.crop((0, 0, sheet.width // 5, sheet.height // 2))
                buffer = io.BytesIO()
                tile.save(buffer, "PNG")
            got = _pixels(buffer.getvalue())
        marked = extract_poster(
            tmp_path / "delivery.mp4", tmp_path / f"{variant}-d.jpg", at_fraction=fraction
        )
        clean = extract_poster(
            tmp_path / "master.mp4", tmp_path / f"{variant}-m.jpg", at_fraction=fraction
        )
        assert marked and clean
        marked_px = _pixels(tmp_path / f"{variant}-d.jpg")
        clean_px = _pixels(tmp_path / f"{variant}-m.jpg")
        mark = np.abs(marked_px - clean_px) > 24  # where the visible mark is
        assert mark.mean() > 0.001, "the mark is visible in this frame"
        from_marked = float(np.abs(got - marked_px)[mark].mean())
        from_clean = float(np.abs(got - clean_px)[mark].mean())
        # Made from the watermarked copy: the mark is there, as in the watermarked frame.
        assert from_marked < from_clean / 3, (variant, from_marked, from_clean)


def test_a_watermark_free_plan_gets_the_master(studio, user, key):
    put_on_plan(user, "Pro")
    generation = make_finished(user)
    video = generation.videos.get()
    served = sdk(studio, key).videos.download_content("video_" + generation.pk.hex).read()
    assert not video.delivery and served == video.file.read()
