"""`make_renditions`: the master and delivery copies we serve, from one decode, one encoder each.

The invisible mark is added once to the shared planes; the delivery gets the visible mark
too; audio packets are copied into each.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from media.errors import MediaError
from media.probe import first_video_stream
from media.watermark.codeword import _codeword
from media.watermark.invisible import _Patterns, embed_luma
from media.watermark.visible import _Mark, _mark, _stamp, mark_position

MASTER_OPTIONS = {"preset": "superfast", "crf": "18", "x264-params": "mbtree=0"}
DELIVERY_OPTIONS = MASTER_OPTIONS
OPENH264_BIT_RATE = 8_000_000
# Audio codecs an MP4 can carry as they are; anything else is dropped rather than failing.
MP4_AUDIO = {"aac", "mp3", "opus", "alac", "ac3", "eac3", "flac"}
_BT709 = 1
_RANGE_MPEG = 1


def _h264_output(
    out: av.container.OutputContainer,
    rate: Fraction,
    width: int,
    height: int,
    options: dict[str, str],
    tags: tuple[int, int, int, int],
) -> Any:
    """An H.264 yuv420p stream on libx264, or libopenh264 where the build lacks it (as in
    render.py), tagged with the source's colour description."""
    if "libx264" in av.codecs_available:
        stream = out.add_stream("libx264", rate=rate)
        stream.options = dict(options)
    elif "libopenh264" in av.codecs_available:
        stream = out.add_stream("libopenh264", rate=rate)
        stream.bit_rate = OPENH264_BIT_RATE
    else:
        raise MediaError("This installation has no H.264 encoder (libx264 or libopenh264).")
    stream.width, stream.height = width, height
    stream.pix_fmt = "yuv420p"
    stream.time_base = 1 / rate
    context = stream.codec_context
    context.colorspace, context.color_primaries, context.color_trc, context.color_range = tags
    return stream


def _tags(frame: av.VideoFrame) -> tuple[int, int, int, int]:
    """The source frame's colour tags, BT.709 limited range where it leaves them open."""

    def known(value: Any, fallback: int) -> int:
        number = int(value or 0)
        return number if number not in (0, 2) else fallback  # 0 reserved, 2 unspecified

    return (
        known(frame.colorspace, _BT709),
        known(frame.color_primaries, _BT709),
        known(frame.color_trc, _BT709),
        int(frame.color_range or 0) or _RANGE_MPEG,
    )


def _copy_packet(packet: av.Packet[Any], stream: Any) -> av.Packet[Any]:
    """A fresh packet with the same bytes and timing: a muxer takes ownership of what it is
    given, so one demuxed packet cannot be muxed into two files."""
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
    copy.time_base = packet.time_base
    copy.is_keyframe = packet.is_keyframe
    if stream is not None:
        copy.stream = stream
    return copy


@dataclass
class _Output:
    """One rendition being written: its container, its video and audio streams."""

    path: Path
    tmp: Path
    container: Any = None
    video: Any = None
    audio: Any = None
    options: dict[str, str] | None = None
    visible: bool = False  # the visible mark too (the delivery rendition)


def make_renditions(
    src: Path,
    *,
    payload: int,
    master: Path | None,
    delivery: Path | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    """Decode ``src`` once; write ``master`` (the invisible watermark only) and/or
    ``delivery`` (invisible watermark and the visible moving mark), whichever are given.

    Both are H.264 yuv420p MP4 with the movie header first (``+faststart``), the same size,
    frame rate and frame count as ``src``, colour tags kept (BT.709 limited range where
    ``src`` has none), audio copied as it is when ``src`` has a track an MP4 can hold.
    ``payload`` is a 32-bit int (ValueError otherwise). Files are written beside their
    targets under temporary names and moved into place once both are complete, so an error
    leaves neither behind. ``on_progress`` gets rising fractions and a final 1.0. Raises
    MediaError when ``src`` cannot be read or decoded to the end."""
    _codeword(payload)  # checks the payload before any file is made
    if master is None and delivery is None:
        raise ValueError("make_renditions needs a master or a delivery path")
    outputs: list[_Output] = []
    try:
        # The master first: the visible mark is stamped on the shared planes after it.
        if master is not None:
            target = Path(master)
            outputs.append(_Output(target, _temp_beside(target), options=MASTER_OPTIONS))
        if delivery is not None:
            target = Path(delivery)
            outputs.append(
                _Output(target, _temp_beside(target), options=DELIVERY_OPTIONS, visible=True)
            )
        _write(Path(src), payload, outputs, on_progress)
        for output in outputs:
            output.tmp.chmod(0o644)
            os.replace(output.tmp, output.path)
    finally:
        for output in outputs:
            output.tmp.unlink(missing_ok=True)
    if on_progress:
        on_progress(1.0)


def _temp_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".watermark-", suffix=".mp4")
    os.close(fd)
    return Path(name)


def _write(
    src: Path,
    payload: int,
    outputs: list[_Output],
    on_progress: Callable[[float], None] | None,
) -> None:
    try:
        source = av.open(str(src))
    except Exception as exc:  # any open error means the same: not a video we can read
        raise MediaError("The video could not be read.") from exc
    with contextlib.ExitStack() as stack:
        stack.enter_context(source)
        video = first_video_stream(source)
        if video is None:
            raise MediaError("The video has no video track.")
        video.codec_context.thread_type = "AUTO"
        audio = next((s for s in source.streams.audio if s.codec_context.name in MP4_AUDIO), None)
        rate = Fraction(video.average_rate or video.guessed_rate or 25).limit_denominator(1001)
        expected = video.frames or (
            round(float(video.duration * video.time_base * rate)) if video.duration else 0
        )
        for output in outputs:
            output.container = stack.enter_context(
                av.open(str(output.tmp), "w", format="mp4", options={"movflags": "+faststart"})
            )
            if audio is not None:
                output.audio = output.container.add_stream_from_template(audio)
        patterns: _Patterns | None = None
        mark: _Mark | None = None
        count = 0
        waiting: list[av.Packet[Any]] = []  # audio before the first picture: no header yet
        for packet, frame in _demuxed(source, video, audio):
            if frame is None:
                if patterns is None:
                    waiting.append(_copy_packet(packet, None))
                    continue
                for output in outputs:
                    output.container.mux(_copy_packet(packet, output.audio))
                continue
            if frame.format.name != "yuv420p":
                frame = frame.reformat(format="yuv420p")
            width, height = frame.width, frame.height
            if patterns is None:
                if width % 2 or height % 2:
                    raise MediaError(f"Videos of odd size ({width}x{height}) are not supported.")
                patterns = _Patterns(width, height, payload)
                tags = _tags(frame)
                for output in outputs:
                    assert output.options is not None
                    output.video = _h264_output(
                        output.container, rate, width, height, output.options, tags
                    )
                if any(output.visible for output in outputs):
                    mark = _mark(width, height)
                for early in waiting:
                    for output in outputs:
                        output.container.mux(_copy_packet(early, output.audio))
                waiting.clear()
            t = float(count / rate)
            planes = frame.to_ndarray(format="yuv420p")
            embed_luma(planes[:height], patterns.at(t, planes[:height]))
            for output in outputs:
                if output.visible and mark is not None:
                    y, u, v = _split(planes, width, height)
                    x, top = mark_position(
                        mark.light.shape[1], mark.light.shape[0], width, height, t
                    )
                    _stamp(y, u, v, mark, x, top)
                output.container.mux(output.video.encode(_frame(planes, count, tags)))
            count += 1
            if on_progress and expected and count % 10 == 0:
                on_progress(min(0.99, count / expected))
        if count == 0 or (video.frames and count < video.frames):
            raise MediaError("The video is damaged or truncated.")
        for output in outputs:
            output.container.mux(output.video.encode(None))


def _demuxed(
    source: Any, video: Any, audio: Any
) -> Iterator[tuple[av.Packet[Any], av.VideoFrame | None]]:
    """Decoded video frames (packet, frame) and audio packets (packet, None) in file
    order. Decoder errors become MediaError."""
    streams = [video] if audio is None else [video, audio]
    try:
        for packet in source.demux(*streams):
            if packet.stream.type == "audio":
                if packet.size:
                    yield packet, None
                continue
            for frame in packet.decode():
                yield packet, frame
    except MediaError:
        raise
    except av.FFmpegError as exc:
        raise MediaError("The video is damaged or truncated.") from exc


def _split(planes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, ...]:
    """Views of Y, U and V in to_ndarray's stacked yuv420p layout."""
    # U then V, each (height/2) x (width/2), packed back to back: when height/2 is odd
    # (854 rows: a 480p portrait) they do not start on a row of the stacked array.
    chroma = planes[height:].reshape(-1)
    size = (height // 2) * (width // 2)
    u = chroma[:size].reshape(height // 2, width // 2)
    v = chroma[size : 2 * size].reshape(height // 2, width // 2)
    return planes[:height], u, v


def _frame(planes: np.ndarray, pts: int, tags: tuple[int, int, int, int]) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
    frame.pts = pts
    frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = tags
    return frame
