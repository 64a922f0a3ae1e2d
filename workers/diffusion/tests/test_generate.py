"""The pure function on tiny models: MP4 output, progress, seeds, snapping, i2v, errors."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from diffusion_worker import runtime
from diffusion_worker.errors import InvalidJobSpec, JobCancelled, ModelNotAvailable
from diffusion_worker.generate import generate
from tests.conftest import base_spec

pytestmark = pytest.mark.usefixtures("tiny_models")


def decode(path: str | Path) -> tuple[np.ndarray, Any, str]:
    """All frames as uint8 (N, H, W, 3), the stream's average rate, and its codec."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        return frames, stream.average_rate, stream.codec_context.name


def write_image(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> str:
    rng = np.random.default_rng(sum(colour))
    pixels = np.clip(rng.normal(0, 30, (size[1], size[0], 3)) + colour, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return str(path)


def test_mp4_decodes_as_h264_at_the_reported_size_frame_count_and_fps(out_dir: Path) -> None:
    result = generate(base_spec(out_dir))
    frames, rate, codec = decode(result["output_path"])
    assert codec == "h264"
    assert frames.shape == (9, 32, 32, 3)
    assert rate == 24
    assert (result["width"], result["height"], result["frames"], result["fps"]) == (32, 32, 9, 24)
    assert result["seconds"] == pytest.approx(9 / 24, abs=1e-3)
    assert result["bytes"] == Path(result["output_path"]).stat().st_size
    assert sorted(p.name for p in out_dir.iterdir()) == [Path(result["output_path"]).name]


def test_progress_runs_loading_steps_decoding_encoding_in_order(out_dir: Path) -> None:
    seen: list[dict[str, Any]] = []
    result = generate(base_spec(out_dir, steps=3), on_progress=seen.append)
    assert [m["stage"] for m in seen] == [
        "loading",
        "denoising",
        "denoising",
        "denoising",
        "decoding",
        "encoding",
    ]
    assert [m["step"] for m in seen if m["stage"] == "denoising"] == [1, 2, 3]
    assert [m["progress"] for m in seen] == [0.0, 0.3, 0.6, 0.9, 0.9, 0.95]
    assert (result["stage"], result["progress"]) == ("done", 1.0)


def test_the_same_seed_gives_the_same_frames_and_another_seed_other_frames(out_dir: Path) -> None:
    a = generate(base_spec(out_dir, seed=7, preset="wan2.1-1.3b"))
    b = generate(base_spec(out_dir, seed=7, preset="wan2.1-1.3b"))
    c = generate(base_spec(out_dir, seed=8, preset="wan2.1-1.3b"))
    fa, fb, fc = (decode(r["output_path"])[0] for r in (a, b, c))
    assert np.array_equal(fa, fb)
    assert np.abs(fa.astype(int) - fc.astype(int)).mean() > 1
    assert a["seed"] == 7


def test_a_missing_seed_is_drawn_and_reported(out_dir: Path) -> None:
    result = generate(base_spec(out_dir, seed=None))
    assert isinstance(result["seed"], int)


@pytest.mark.parametrize(
    ("preset", "asked", "expected"),
    [
        ("ltx-0.9.8-distilled", (50, 40, 12), (32, 32, 9)),
        ("wan2.1-1.3b", (50, 40, 10), (48, 32, 9)),
        ("wan2.2-ti2v-5b", (70, 40, 6), (64, 32, 5)),
    ],
)
def test_requests_are_snapped_before_the_pipeline_sees_them(
    out_dir: Path, preset: str, asked: tuple[int, int, int], expected: tuple[int, int, int]
) -> None:
    w, h, n = asked
    result = generate(base_spec(out_dir, preset=preset, width=w, height=h, frames=n))
    assert (result["width"], result["height"], result["frames"]) == expected
    frames, _, _ = decode(result["output_path"])
    assert frames.shape[:3] == (expected[2], expected[1], expected[0])
    assert result["adjustments"], "the snapping is reported"


def test_ltx_default_steps_use_the_distilled_schedule(out_dir: Path) -> None:
    seen: list[dict[str, Any]] = []
    result = generate(base_spec(out_dir, steps=None), on_progress=seen.append)
    assert result["steps"] == 8
    assert [m["step"] for m in seen if m["stage"] == "denoising"] == list(range(1, 9))


@pytest.mark.parametrize("preset", ["ltx-0.9.8-distilled", "wan2.2-ti2v-5b"])
def test_first_frame_image_conditions_the_video(out_dir: Path, tmp_path: Path, preset: str) -> None:
    red = write_image(tmp_path / "red.png", (220, 40, 40))
    blue = write_image(tmp_path / "blue.png", (30, 40, 220))
    t2v = generate(base_spec(out_dir, preset=preset))
    i2v_red = generate(base_spec(out_dir, preset=preset, image_path=red))
    i2v_blue = generate(base_spec(out_dir, preset=preset, image_path=blue))
    assert (t2v["mode"], i2v_red["mode"]) == ("t2v", "i2v")
    f_t2v, f_red, f_blue = (
        decode(r["output_path"])[0].astype(int) for r in (t2v, i2v_red, i2v_blue)
    )
    assert f_red.shape == f_t2v.shape == (9, 32, 32, 3)
    assert np.abs(f_red - f_t2v).mean() > 1, "the image changes the video"
    assert np.abs(f_red[0] - f_blue[0]).mean() > 1, (
        "a different first frame gives a different start"
    )


def test_cancel_stops_at_the_next_step_and_leaves_no_file(out_dir: Path) -> None:
    asked = 0
    seen: list[dict[str, Any]] = []

    def is_cancelled() -> bool:
        nonlocal asked
        asked += 1
        return asked > 3  # before loading, after loading, after step 1, then yes

    with pytest.raises(JobCancelled, match="cancelled"):
        generate(base_spec(out_dir, steps=20), on_progress=seen.append, is_cancelled=is_cancelled)
    assert [m["step"] for m in seen if m["stage"] == "denoising"] == [1]
    assert list(out_dir.iterdir()) == []


def test_a_missing_model_fails_fast_and_says_how_to_fetch_it(
    out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_DIFFUSION_MODELS", '{"wan2.1-1.3b": "studio-test/not-fetched"}')
    loads = runtime.load_count
    started = time.monotonic()
    with pytest.raises(ModelNotAvailable) as info:
        generate(base_spec(out_dir, preset="wan2.1-1.3b"))
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert "hf download studio-test/not-fetched" in message
    assert "docker compose run --rm models-fetch" in message
    assert runtime.load_count == loads
    assert list(out_dir.iterdir()) == []
    print(f"missing model reported in {elapsed:.3f}s")


def test_a_missing_model_directory_names_the_directory(
    out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_DIFFUSION_MODEL_DIR_LTX_0_9_8_DISTILLED", "/nonexistent/ltx")
    with pytest.raises(ModelNotAvailable, match="/nonexistent/ltx has no model_index.json"):
        generate(base_spec(out_dir))


def test_models_load_once_per_process(out_dir: Path) -> None:
    generate(base_spec(out_dir))
    loads = runtime.load_count
    result = generate(base_spec(out_dir))
    assert result["timings"]["model_cached"] is True
    assert runtime.load_count == loads


def test_a_missing_first_frame_is_a_bad_spec(out_dir: Path) -> None:
    with pytest.raises(InvalidJobSpec, match="does not exist"):
        generate(base_spec(out_dir, image_path=str(out_dir / "nope.png")))


class _PutReceiver:
    """A loopback HTTP server that takes PUTs, as a presigned object-storage URL does."""

    def __init__(self, status: int = 200) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received: dict[str, bytes] = {}
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                received[self.path] = self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


def test_a_worker_that_shares_no_disk_takes_the_image_inline_and_puts_the_result(
    tmp_path: Path,
) -> None:
    import base64

    receiver = _PutReceiver()
    red = write_image(tmp_path / "red.png", (220, 40, 40))
    put_url = receiver.url("/bucket/job-7.mp4?sig=x")
    spec = base_spec(tmp_path, job_id="job-7", output_put_url=put_url)
    del spec["output_path"]
    spec["image_b64"] = base64.b64encode(Path(red).read_bytes()).decode()
    result = generate(spec)
    assert result["uploaded"] is True and result["output_path"] is None
    assert result["mode"] == "i2v"
    uploaded = receiver.received["/bucket/job-7.mp4?sig=x"]
    assert len(uploaded) == result["bytes"]
    (tmp_path / "got.mp4").write_bytes(uploaded)
    frames, _, codec = decode(tmp_path / "got.mp4")
    assert codec == "h264" and frames.shape == (9, 32, 32, 3)
    # Nothing stays in this machine's scratch folder.
    scratch = Path(__import__("tempfile").gettempdir()) / "studio-diffusion"
    assert not list(scratch.glob("job-7*"))
    receiver.server.shutdown()


def test_a_failed_upload_fails_the_job_and_keeps_no_file(tmp_path: Path) -> None:
    receiver = _PutReceiver(status=403)
    spec = base_spec(tmp_path, output_put_url=receiver.url("/expired"))
    with pytest.raises(OSError):
        generate(spec)
    assert not Path(spec["output_path"]).exists()
    receiver.server.shutdown()


def test_an_inline_image_that_is_not_an_image_is_a_bad_spec(tmp_path: Path) -> None:
    with pytest.raises(InvalidJobSpec, match="image_b64"):
        generate(base_spec(tmp_path, image_b64="bm90IGFuIGltYWdl"))
