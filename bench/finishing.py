"""What finishing costs: watermarks + Content Credentials + poster + probe for one video, as a
ratio to a plain PyAV decode and re-encode of the same file with the same encoder settings.

Usage: .venv/bin/python bench/finishing.py [--runs 3] [--seconds 10] [--resolution 1080p]

Runs the real ``generations.finishing.video_finish`` (Django on a fresh SQLite database in
a temporary folder) for a creator on a watermarked plan (master + delivery: two encodes from
one decode, two signatures) and on a watermark-free plan (master only), on two clips: the
offline renderer's title card (flat colour) and a textured, moving clip (noise and gradients,
closer to what a model makes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def textured_clip(path: Path, width: int, height: int, seconds: int, fps: int = 24) -> None:
    """Moving gradients plus grain: harder to encode than a title card."""
    import av
    import numpy as np

    rng = np.random.default_rng(7)
    grain = rng.integers(0, 40, size=(height * 2, width * 2), dtype=np.uint8)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "superfast", "crf": "20"}
        for i in range(seconds * fps):
            t = i / fps
            r = 128 + 90 * np.sin(xx / 97 + t * 1.3)
            g = 128 + 90 * np.sin(yy / 61 - t * 0.9)
            b = 128 + 90 * np.sin((xx + yy) / 143 + t * 0.5)
            dy, dx = (i * 3) % height, (i * 5) % width
            noise = grain[dy : dy + height, dx : dx + width]
            rgb = np.stack([r, g, b], axis=-1) + noise[..., None] - 20
            frame = av.VideoFrame.from_ndarray(np.clip(rgb, 0, 255).astype(np.uint8), "rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def plain_reencode(src: Path, dst: Path) -> None:
    """Decode and encode again, nothing else: the yardstick."""
    import av

    from media.watermark import MASTER_OPTIONS

    with (
        av.open(str(src)) as inp,
        av.open(str(dst), "w", options={"movflags": "+faststart"}) as out,
    ):
        vin = inp.streams.video[0]
        stream = out.add_stream("libx264", rate=vin.average_rate)
        stream.width, stream.height, stream.pix_fmt = vin.width, vin.height, "yuv420p"
        stream.options = dict(MASTER_OPTIONS)
        for frame in inp.decode(vin):
            frame.pts = None
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resolution", default="1080p")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="studio-bench-finish-"))
    # A bench is a local trial: no SECRET_KEY needed, plain HTTP on loopback.
    os.environ.setdefault("DEBUG", "1")
    os.environ.update(DJANGO_SETTINGS_MODULE="studio.settings", STUDIO_VAR_DIR=str(var))
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files import File
    from django.core.management import call_command

    from accounts import plans
    from accounts.models import Plan
    from delivery import finishing
    from generations.models import Generation, Video
    from media.frames import frame_size
    from media.render import render_title_card

    call_command("migrate", verbosity=0)
    finishing.signing_identity()  # first use makes the chain: not part of finishing
    width, height = frame_size(args.resolution, "16:9")
    clips = {"title card": var / "card.mp4", "textured": var / "textured.mp4"}
    render_title_card(
        out_path=clips["title card"],
        prompt="a lighthouse in a storm, waves breaking over the rocks",
        width=width,
        height=height,
        seconds=args.seconds,
        fps=24,
        seed=1,
    )
    textured_clip(clips["textured"], width, height, args.seconds)

    owners = {}
    for plan_name in ("Plus", "Pro"):
        user = get_user_model().objects.create(username=f"bench-{plan_name.lower()}")
        account = plans.account_get_for_user(user)
        account.plan = Plan.objects.get(name=plan_name)
        account.save()
        owners[plan_name] = user

    print(f"{args.seconds} s {args.resolution} ({width}x{height}), median of {args.runs} runs")
    print(
        f"{'clip':<11} {'plain re-encode':>16} {'finish, Plus':>14} {'ratio':>6} "
        f"{'finish, Pro':>12} {'ratio':>6}"
    )
    for label, clip in clips.items():
        plain = []
        for _ in range(args.runs):
            start = time.perf_counter()
            plain_reencode(clip, var / "plain.mp4")
            plain.append(time.perf_counter() - start)
        finish: dict[str, list[float]] = {"Plus": [], "Pro": []}
        for plan_name, user in owners.items():
            for run in range(args.runs):
                generation = Generation.objects.create(
                    owner=user,
                    prompt=f"bench {label} {run}",
                    provider="offline",
                    model="title-card",
                    resolution=args.resolution,
                    seconds=args.seconds,
                    state=Generation.State.FINISHING,
                )
                video = Video(owner=user, generation=generation)
                with clip.open("rb") as f:
                    video.file.save("video.mp4", File(f), save=True)
                start = time.perf_counter()
                finishing.video_finish(video)
                finish[plan_name].append(time.perf_counter() - start)
        p = statistics.median(plain)
        plus, pro = statistics.median(finish["Plus"]), statistics.median(finish["Pro"])
        print(
            f"{label:<11} {p:>14.2f} s {plus:>12.2f} s {plus / p:>6.2f} "
            f"{pro:>10.2f} s {pro / p:>6.2f}"
        )
    shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
