"""The watermark rule through /v1/: a watermarked-plan key never receives the master, nor a
thumbnail or spritesheet made from it, whole or by byte ranges (bytes and frames compared);
a watermark-free plan gets the master."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from media.stills import extract_poster
from tests.api.conftest import fetch_in_ranges, sdk
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
    body, joined = fetch_in_ranges(f"{studio.base_url}/videos/{vid}/content", key, pieces=5)
    assert body == joined == delivery
    # Frame by frame, the ranges joined are the watermarked video, not the master.
    frames = {
        name: [
            f.to_ndarray(format="gray").astype(float)
            for f in av.open(io.BytesIO(data)).decode(video=0)
        ]
        for name, data in (("joined", joined), ("delivery", delivery), ("master", master))
    }
    assert len(frames["joined"]) == len(frames["master"]) == 24
    for got, marked, clean in zip(
        frames["joined"], frames["delivery"], frames["master"], strict=True
    ):
        assert np.array_equal(got, marked)
        assert float(np.abs(got - clean).max()) > 24  # the mark is in every frame

    (tmp_path / "master.mp4").write_bytes(master)
    (tmp_path / "delivery.mp4").write_bytes(delivery)
    for variant, fraction in (("thumbnail", 0.4), ("spritesheet", 0.0)):
        data = client.videos.download_content(vid, variant=variant).read()
        url = f"{studio.base_url}/videos/{vid}/content?variant={variant}"
        assert fetch_in_ranges(url, key) == (data, data)
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
