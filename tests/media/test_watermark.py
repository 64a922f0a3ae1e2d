"""The watermarked renditions, checked on real media: title cards from the offline renderer
(flat colour, static text) and a textured moving clip, re-encoded and resized the way a
re-upload would be."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from media import MediaError
from media.probe import probe_video
from media.render import render_title_card
from media.watermark import (
    PAYLOAD_BITS,
    WatermarkReading,
    _mark,
    make_renditions,
    mark_position,
    read_watermark,
)
from tests.mediatools import reencode

PAYLOAD = 0xC0FFEE42
FPS = 24
SIZE = (640, 360)


def payload_bits(payload: int) -> tuple[int, ...]:
    return tuple((payload >> (PAYLOAD_BITS - 1 - i)) & 1 for i in range(PAYLOAD_BITS))


def write_textured(path: Path, size: tuple[int, int], seconds: float, audio: bool) -> Path:
    """Fine random texture panning across a moving gradient, fresh grain in every frame, and
    a quiet tone when ``audio``: the opposite of a title card."""
    width, height = size
    rng = np.random.default_rng(7)
    small = rng.integers(0, 256, (height // 8 + 8, width // 8 + 8, 3), dtype=np.uint8)
    big = np.asarray(
        Image.fromarray(small).resize((small.shape[1] * 8, small.shape[0] * 8), 3), np.int16
    )
    across = np.linspace(0, 2 * np.pi, width, dtype=np.float32)[None, :, None]
    frames = round(seconds * FPS)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "16"}
        sound = out.add_stream("aac", rate=48000, layout="mono") if audio else None
        for i in range(frames):
            x, y = (i * 3) % 48, (i * 2) % 48
            grain = rng.integers(-6, 7, (height, width, 1), dtype=np.int16)
            shade = (30 * np.sin(across - i / 8)).astype(np.int16)
            picture = np.clip(big[y : y + height, x : x + width] + grain + shade, 0, 255)
            frame = av.VideoFrame.from_ndarray(picture.astype(np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None:
            samples = 1024
            for n in range(round(seconds * 48000 / samples)):
                t = (np.arange(samples) + n * samples) / 48000
                tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
                chunk = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 48000, n * samples
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return path


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="yuv420p") for frame in container.decode(video=0)]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sources and their renditions, made once: card (flat, 3 s), textured (2 s, with
    audio) and a portrait card, each with a master and a delivery."""
    folder = tmp_path_factory.mktemp("watermark")
    paths = {
        "card": folder / "card.mp4",
        "textured": write_textured(folder / "textured.mp4", SIZE, 2.0, audio=True),
        "portrait": folder / "portrait.mp4",
    }
    card = {"prompt": "a red kite over green hills", "fps": FPS, "seed": 3}
    render_title_card(out_path=paths["card"], width=SIZE[0], height=SIZE[1], seconds=3, **card)
    render_title_card(out_path=paths["portrait"], width=270, height=480, seconds=2, **card)
    for name in ("card", "textured", "portrait"):
        master, delivery = folder / f"{name}-master.mp4", folder / f"{name}-delivery.mp4"
        make_renditions(paths[name], payload=PAYLOAD, master=master, delivery=delivery)
        paths[f"{name}-master"], paths[f"{name}-delivery"] = master, delivery
    return paths


@pytest.mark.parametrize("source", ["card", "textured", "portrait"])
@pytest.mark.parametrize("rendition", ["master", "delivery"])
def test_the_payload_is_read_back_from_both_renditions(media, source, rendition):
    reading = read_watermark(media[f"{source}-{rendition}"])

    assert reading.found
    assert reading.payload == PAYLOAD
    assert reading.bits == payload_bits(PAYLOAD)
    assert 0 < reading.confidence <= 1


@pytest.mark.parametrize("source", ["card", "textured"])
@pytest.mark.parametrize("crf", [23, 28])
def test_the_payload_survives_a_reencode(media, tmp_path, source, crf):
    copy = reencode(media[f"{source}-delivery"], tmp_path / "copy.mp4", crf=crf)

    reading = read_watermark(copy)

    assert (reading.found, reading.payload) == (True, PAYLOAD)


@pytest.mark.parametrize("source", ["card", "textured"])
def test_the_payload_survives_a_resize_to_half_size(media, tmp_path, source):
    small = reencode(media[f"{source}-master"], tmp_path / "small.mp4", crf=23, scale=0.5)

    reading = read_watermark(small)

    assert probe_video(small).width == SIZE[0] // 2
    assert (reading.found, reading.payload) == (True, PAYLOAD)


@pytest.mark.parametrize("source", ["card", "textured"])
def test_a_video_never_watermarked_reads_as_not_found(media, source):
    reading = read_watermark(media[source])

    assert reading == WatermarkReading(False, None, reading.bits, reading.confidence)
    assert len(reading.bits) == PAYLOAD_BITS
    assert set(reading.bits) <= {0, 1}


@pytest.mark.parametrize("size", [(480, 480), (854, 480), (480, 854)])
def test_a_one_second_clip_survives_a_half_size_reencode(tmp_path, size):
    # Few sign flips to average over: the reader's Chase tries mend the weakest bits.
    source = tmp_path / "short.mp4"
    width, height = size
    render_title_card(
        out_path=source,
        prompt="a paper boat",
        width=width,
        height=height,
        seconds=1,
        fps=24,
        seed=3,
    )
    delivery = tmp_path / "d.mp4"
    make_renditions(source, payload=PAYLOAD, master=tmp_path / "m.mp4", delivery=delivery)
    small = reencode(delivery, tmp_path / "small.mp4", crf=23, scale=0.5)

    assert read_watermark(small).payload == PAYLOAD


@pytest.mark.parametrize("seed", range(6))
def test_never_marked_clips_of_all_kinds_read_as_not_found(tmp_path, seed):
    clip = tmp_path / "plain.mp4"
    if seed % 2:
        write_textured(clip, (320, 180), 1.5, audio=False)
    else:
        render_title_card(
            out_path=clip,
            prompt=f"plain card {seed}",
            width=320,
            height=320,
            seconds=1.5,
            fps=24,
            seed=seed,
        )
    small = reencode(clip, tmp_path / "small.mp4", crf=28, scale=0.5)
    for path in (clip, small):
        assert not read_watermark(path).found


def test_a_delivery_alone_can_be_made_from_a_master(tmp_path, media):
    delivery = tmp_path / "late-delivery.mp4"
    make_renditions(media["card-master"], payload=PAYLOAD, master=None, delivery=delivery)

    assert read_watermark(delivery).payload == PAYLOAD
    assert frames_of(delivery)[0].tobytes() != frames_of(media["card-master"])[0].tobytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late-delivery.mp4"]
    with pytest.raises(ValueError):
        make_renditions(media["card-master"], payload=PAYLOAD, master=None)


def test_another_payload_reads_as_itself(tmp_path, media):
    master = tmp_path / "other.mp4"
    make_renditions(media["portrait"], payload=1, master=master)

    assert read_watermark(master).payload == 1


def test_a_frame_whose_chroma_rows_are_odd_is_marked_in_every_plane(tmp_path):
    # 480 x 854 (a 480p portrait): its 427 chroma rows do not align with the stacked array.
    source = tmp_path / "tall.mp4"
    render_title_card(
        out_path=source, prompt="a tall card", width=480, height=854, seconds=1, fps=24, seed=4
    )
    master, delivery = tmp_path / "m.mp4", tmp_path / "d.mp4"
    make_renditions(source, payload=77, master=master, delivery=delivery)

    assert read_watermark(master).payload == read_watermark(delivery).payload == 77
    with av.open(str(master)) as a, av.open(str(delivery)) as b:
        clean = next(a.decode(video=0)).to_ndarray(format="yuv420p")
        marked = next(b.decode(video=0)).to_ndarray(format="yuv420p")
    chroma = np.abs(marked[854:].astype(int) - clean[854:].astype(int))
    assert chroma.max() > 2  # the mark's shadow reached the colour planes too


def test_the_visible_mark_is_only_in_the_delivery_and_moves(media):
    master, delivery = frames_of(media["card-master"]), frames_of(media["card-delivery"])
    width, height = SIZE
    mark = _mark(width, height)
    mark_h, mark_w = mark.light.shape

    places = []
    for index in (0, len(master) - 1):
        x, y = mark_position(mark_w, mark_h, width, height, index / FPS)
        places.append((x, y))
        gap = np.abs(delivery[index][:height].astype(int) - master[index][:height])
        inside = gap[y : y + mark_h, x : x + mark_w]
        outside = gap.copy()
        outside[max(0, y - 8) : y + mark_h + 8, max(0, x - 8) : x + mark_w + 8] = 0
        assert inside.max() > 40  # the mark is plainly there ...
        assert inside.mean() > 4 * max(0.5, outside.mean())  # ... and only there
    assert abs(places[0][0] - places[1][0]) + abs(places[0][1] - places[1][1]) > mark_h


def test_the_master_decodes_close_to_the_source(media):
    source, master = frames_of(media["card"]), frames_of(media["card-master"])

    errors = [np.mean((a.astype(float) - b) ** 2) for a, b in zip(source, master, strict=True)]
    psnr = 10 * np.log10(255**2 / np.mean(errors))

    assert psnr > 40


def test_on_a_flat_colour_field_the_mark_changes_luma_by_at_most_three_levels(media):
    source, master = frames_of(media["card"]), frames_of(media["card-master"])
    sky = slice(0, SIZE[1] // 3)  # above the title: nothing but soft colour

    for index in (0, len(source) // 2, len(source) - 1):
        change = np.abs(master[index][sky].astype(int) - source[index][sky])
        assert np.percentile(change, 99.9) <= 3
        assert 0.5 < change.mean() < 2


@pytest.mark.parametrize("source", ["card", "textured", "portrait"])
def test_renditions_keep_size_rate_and_frame_count_and_probe_as_h264(media, source):
    original = probe_video(media[source])

    for rendition in ("master", "delivery"):
        probe = probe_video(media[f"{source}-{rendition}"])
        assert (probe.codec, probe.pix_fmt) == ("h264", "yuv420p")
        assert (probe.width, probe.height) == (original.width, original.height)
        assert probe.fps == original.fps
        assert probe.frames == original.frames == len(frames_of(media[f"{source}-{rendition}"]))
        assert probe.has_audio == original.has_audio
    assert probe_video(media["textured-delivery"]).has_audio


def test_the_renditions_put_the_movie_header_first(media):
    head = media["card-delivery"].read_bytes()[:4096]

    assert 0 < head.find(b"moov") < (head.find(b"mdat") % 4097)


def test_progress_rises_to_exactly_one(media, tmp_path):
    seen: list[float] = []

    make_renditions(
        media["portrait"], payload=5, master=tmp_path / "m.mp4", on_progress=seen.append
    )

    assert seen[-1] == 1.0
    assert seen == sorted(seen)


def bad_inputs(folder: Path, video: Path) -> list[Path]:
    garbage = folder / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    return [garbage, truncated]


def test_unreadable_input_raises_media_error_and_leaves_nothing_behind(media, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    garbage, truncated = bad_inputs(tmp_path, media["card-master"])
    for bad in (garbage, truncated):
        with pytest.raises(MediaError):
            make_renditions(bad, payload=1, master=out / "m.mp4", delivery=out / "d.mp4")

    assert list(out.iterdir()) == []


def test_reading_garbage_raises_media_error_but_a_truncated_video_is_read_as_far_as_it_goes(
    media, tmp_path
):
    garbage, truncated = bad_inputs(tmp_path, media["card-master"])

    with pytest.raises(MediaError):
        read_watermark(garbage)
    assert len(read_watermark(truncated).bits) == PAYLOAD_BITS


def test_a_payload_wider_than_32_bits_is_refused(media, tmp_path):
    with pytest.raises(ValueError, match="32 bits"):
        make_renditions(media["card"], payload=1 << 32, master=tmp_path / "m.mp4")

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format", ["PNG", "JPEG", "WEBP"])
def test_a_still_is_read_without_error(media, tmp_path, format):
    with av.open(str(media["textured-master"])) as container:
        frame = next(container.decode(video=0)).to_image()
    still = tmp_path / f"still.{format.lower()}"
    frame.save(still, format)

    reading = read_watermark(still)

    assert len(reading.bits) == PAYLOAD_BITS
    assert reading.payload in (None, PAYLOAD)


def test_a_still_of_a_flat_picture_without_a_mark_is_not_found(tmp_path):
    still = tmp_path / "flat.png"
    Image.new("RGB", (320, 180), (40, 90, 160)).save(still)

    assert read_watermark(still).found is False


def test_a_broken_still_raises_media_error(tmp_path):
    still = tmp_path / "broken.png"
    still.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)

    with pytest.raises(MediaError):
        read_watermark(still)


def test_a_video_with_a_fractional_frame_rate_keeps_it(tmp_path):
    src = tmp_path / "ntsc.mp4"
    rate = Fraction(30000, 1001)
    with av.open(str(src), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for i in range(30):
            picture = np.full((180, 320, 3), 60 + i * 3, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))

    make_renditions(src, payload=9, master=tmp_path / "m.mp4")

    probe = probe_video(tmp_path / "m.mp4")
    assert probe.fps == pytest.approx(29.97, abs=0.01)
    assert probe.frames == 30
