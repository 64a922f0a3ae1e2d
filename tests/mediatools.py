"""Media helpers shared by tests and benches: what a re-upload elsewhere does to a file."""

from __future__ import annotations

from pathlib import Path

import av


def reencode(src: Path, dst: Path, *, crf: int = 23, scale: float = 1.0) -> Path:
    """Decode ``src``, optionally resize it by ``scale`` (bicubic), and encode it again with
    libx264 at ``crf`` (preset medium, ffmpeg's default) into ``dst``; returns ``dst``."""
    with av.open(str(src)) as source, av.open(str(dst), "w", format="mp4") as out:
        video = source.streams.video[0]
        width = round(video.codec_context.width * scale) // 2 * 2
        height = round(video.codec_context.height * scale) // 2 * 2
        stream = out.add_stream("libx264", rate=video.average_rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for frame in source.decode(video):
            if scale != 1.0:
                frame = frame.reformat(width=width, height=height, interpolation="BICUBIC")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return dst
