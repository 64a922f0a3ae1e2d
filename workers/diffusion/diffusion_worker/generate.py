"""The job itself as a plain function: spec in, MP4 on disk, result dict out (no Celery here).

``generate(spec, on_progress=..., is_cancelled=...)`` snaps the request to its preset, runs
the pipeline with a seeded generator and ``output_type="np"``, and writes the MP4 to a
temporary file beside ``output_path`` that is renamed into place only when complete, so a
failed or cancelled job leaves no file. Progress goes to ``on_progress`` as dicts:
denoising steps map to 0-0.9, then ``decoding`` (0.9) and ``encoding`` (0.95).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from diffusion_worker import runtime
from diffusion_worker.errors import InvalidJobSpec, JobCancelled
from diffusion_worker.presets import JobSpec, Plan, snap

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

ProgressFn = Callable[[dict[str, Any]], None]
CancelFn = Callable[[], bool]

DENOISE_SHARE = 0.9
ENCODE_AT = 0.95
MP4_QUALITY = 8.0


def generate(
    spec: JobSpec | Mapping[str, Any],
    *,
    on_progress: ProgressFn | None = None,
    is_cancelled: CancelFn | None = None,
) -> dict[str, Any]:
    """Render one job to ``spec.output_path`` and describe what was made.

    ``is_cancelled`` is asked before loading, once per denoising step and before encoding;
    when it says yes the job raises JobCancelled and leaves no file. Raises InvalidJobSpec,
    ModelNotAvailable, JobCancelled, or whatever the pipeline raises (CUDA out of memory).
    """
    started = time.perf_counter()
    job = spec if isinstance(spec, JobSpec) else JobSpec.from_dict(spec)
    if job.image_b64:
        image: Image.Image | None = _decode_image(job.image_b64)
    else:
        image = _open_image(job.image_path) if job.image_path else None
    plan = snap(job, image.size if image is not None else None)
    seed = job.seed if job.seed is not None else secrets.randbelow(2**31)

    def report(stage: str, progress: float, step: int = 0, steps: int = 0) -> None:
        if on_progress is not None:
            on_progress(
                {"stage": stage, "progress": round(progress, 4), "step": step, "steps": steps}
            )

    def check_cancel() -> None:
        if is_cancelled is not None and is_cancelled():
            raise JobCancelled("cancelled: the job's cancel flag was set")

    check_cancel()
    report("loading", 0.0, 0, plan.steps)
    loaded = runtime.get_pipeline(plan.preset, plan.mode)
    check_cancel()

    output_path = job.output_path
    out_dir = os.path.dirname(output_path)
    os.makedirs(out_dir, exist_ok=True)
    tmp_path = os.path.join(
        out_dir, f".{os.path.basename(output_path)}.{uuid.uuid4().hex[:8]}.part.mp4"
    )
    marks: dict[str, float] = {}

    def on_step_end(pipe: Any, i: int, t: Any, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
        check_cancel()
        total = int(getattr(pipe, "num_timesteps", 0) or plan.steps)
        report("denoising", DENOISE_SHARE * (i + 1) / total, i + 1, total)
        if i + 1 >= total:
            marks["denoised"] = time.perf_counter()
            report("decoding", DENOISE_SHARE, total, total)
        return callback_kwargs

    try:
        import numpy as np
        import torch
        from diffusers.utils.export_utils import export_to_video

        kwargs = _call_kwargs(plan, job, image, torch.Generator("cpu").manual_seed(seed))
        call_started = time.perf_counter()
        output = loaded.pipe(**kwargs, callback_on_step_end=on_step_end)
        returned = time.perf_counter()
        frames = np.asarray(output.frames[0])
        del output
        check_cancel()
        n_frames, height, width = int(frames.shape[0]), int(frames.shape[1]), int(frames.shape[2])
        report("encoding", ENCODE_AT, plan.steps, plan.steps)
        export_to_video(list(frames), tmp_path, fps=plan.fps, quality=MP4_QUALITY)
        os.replace(tmp_path, output_path)
        encoded = time.perf_counter()
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        raise
    finally:
        _empty_cuda_cache()

    size = os.path.getsize(output_path)
    if job.output_put_url:
        try:
            _put(output_path, job.output_put_url)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(output_path)
    adjustments = list(plan.adjustments)
    if (width, height, n_frames) != (plan.width, plan.height, plan.frames):
        adjustments.append(
            f"pipeline returned {width}x{height}x{n_frames}, "
            f"planned {plan.width}x{plan.height}x{plan.frames}"
        )
    denoised = marks.get("denoised", returned)
    return {
        "stage": "done",
        "progress": 1.0,
        "job_id": job.job_id,
        "output_path": None if job.output_put_url else output_path,
        "uploaded": bool(job.output_put_url),
        "bytes": size,
        "preset": plan.preset.id,
        "model": loaded.source,
        "mode": plan.mode,
        "width": width,
        "height": height,
        "frames": n_frames,
        "fps": plan.fps,
        "seconds": round(n_frames / plan.fps, 3),
        "seed": seed,
        "steps": plan.steps,
        "guidance": plan.guidance,
        "device": loaded.device,
        "dtype": loaded.dtype,
        "adjustments": adjustments,
        "ignored_fields": list(job.ignored_fields),
        "timings": {
            "model_cached": loaded.cached,
            "load_s": loaded.load_seconds,
            "denoise_s": round(denoised - call_started, 3),
            "decode_s": round(returned - denoised, 3),
            "encode_s": round(encoded - returned, 3),
            "total_s": round(encoded - started, 3),
        },
    }


def _call_kwargs(
    plan: Plan, job: JobSpec, image: Image.Image | None, generator: Any
) -> dict[str, Any]:
    preset = plan.preset
    kwargs: dict[str, Any] = {
        "prompt": job.prompt,
        "negative_prompt": job.negative_prompt or None,
        "width": plan.width,
        "height": plan.height,
        "num_frames": plan.frames,
        "guidance_scale": plan.guidance,
        "generator": generator,
        "output_type": "np",
        **preset.call_kwargs,
    }
    if preset.timesteps and plan.steps == len(preset.timesteps):
        kwargs["timesteps"] = list(preset.timesteps)
    else:
        kwargs["num_inference_steps"] = plan.steps
    if preset.family == "ltx":
        kwargs["frame_rate"] = plan.fps
    if image is not None:
        kwargs["image"] = _cover(image, plan.width, plan.height)
    return kwargs


def _put(path: str, url: str) -> None:
    """Upload the finished file to its presigned URL (one PUT; a failure fails the job, and
    Celery's redelivery renders it again)."""
    import urllib.request

    with open(path, "rb") as f:
        body = f.read()
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "video/mp4"}
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        if answer.status >= 300:
            raise OSError(f"uploading the result answered {answer.status}")


def _decode_image(data: str) -> Image.Image:
    import base64
    import binascii
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        raw = base64.b64decode(data, validate=True)
        with Image.open(io.BytesIO(raw)) as img:
            img.load()
            return img.convert("RGB")
    except (binascii.Error, UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidJobSpec(f"image_b64 is not a readable image: {exc}") from None


def _open_image(path: str) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("RGB")
    except FileNotFoundError:
        raise InvalidJobSpec(f"image_path {path} does not exist") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidJobSpec(f"image_path {path} is not a readable image: {exc}") from None


def _cover(image: Image.Image, width: int, height: int) -> Image.Image:
    """Scale and centre-crop the first frame to the video's size, keeping its aspect."""
    from PIL import Image

    scale = max(width / image.width, height / image.height)
    w, h = max(width, round(image.width * scale)), max(height, round(image.height * scale))
    resized = image.resize((w, h), Image.Resampling.LANCZOS)
    left, top = (w - width) // 2, (h - height) // 2
    return resized.crop((left, top, left + width, top + height))


def _empty_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
