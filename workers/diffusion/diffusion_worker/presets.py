"""Model presets, the job spec, and the snapping of a request to what a preset can render.

Pure Python (no torch): the Studio side may read ``capabilities()`` and ``snap()`` without
the GPU stack. Each preset knows its repo, pipeline classes, size multiple and frame
stride, default fps / steps / guidance, and caps; ``snap`` turns a request into a ``Plan``
that the pipeline accepts as is, and says what it changed.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from diffusion_worker.errors import InvalidJobSpec

DEFAULT_PRESET = "ltx-0.9.8-distilled"

# Largest integer a JSON reader in any language keeps exactly.
MAX_SEED = 2**53 - 1
MAX_PROMPT_CHARS = 4000
MAX_STEPS = 100


@dataclass(frozen=True)
class Preset:
    """One model as Studio offers it: where its weights live and how it must be called."""

    id: str
    label: str
    family: str
    repo: str
    t2v_pipeline: str
    i2v_pipeline: str | None
    default_width: int
    default_height: int
    size_multiple: int
    frame_stride: int
    fps: int
    default_frames: int
    steps: int
    guidance: float
    max_side: int
    max_pixels: int
    max_frames: int
    license: str
    vram: str
    download: str
    sizes: tuple[str, ...] = ()
    # Extra keyword arguments for every pipeline call.
    call_kwargs: Mapping[str, Any] = field(default_factory=dict)
    # Distilled schedules: an explicit timestep list used when steps match its length.
    timesteps: tuple[float, ...] = ()
    # Components kept in float32 on GPU whatever the pipeline dtype (Wan's VAE).
    fp32_components: tuple[str, ...] = ()

    @property
    def min_frames(self) -> int:
        return self.frame_stride + 1

    @property
    def modes(self) -> list[str]:
        return ["t2v", "i2v"] if self.i2v_pipeline else ["t2v"]

    @property
    def env_suffix(self) -> str:
        """``ltx-0.9.8-distilled`` -> ``LTX_0_9_8_DISTILLED``, for per-preset env vars."""
        return re.sub(r"[^A-Z0-9]+", "_", self.id.upper()).strip("_")


PRESETS: dict[str, Preset] = {
    p.id: p
    for p in (
        Preset(
            id="ltx-0.9.8-distilled",
            label="LTX-Video 0.9.8 distilled (fast)",
            family="ltx",
            repo="Lightricks/LTX-Video-0.9.8-13B-distilled",
            t2v_pipeline="LTXConditionPipeline",
            i2v_pipeline="LTXConditionPipeline",
            default_width=832,
            default_height=480,
            size_multiple=32,
            frame_stride=8,
            fps=24,
            default_frames=121,
            steps=8,
            guidance=1.0,
            max_side=1280,
            max_pixels=1280 * 720,
            max_frames=257,
            license="LTX-Video open-weights licence (use restrictions: review before offering)",
            vram="13B in bf16: ~48 GB without offload; 24 GB with STUDIO_DIFFUSION_OFFLOAD=model",
            download="~38-40 GB",
            sizes=(
                "832x480",
                "480x832",
                "768x512",
                "512x768",
                "1216x704",
                "704x1216",
                "1280x704",
                "704x1280",
            ),
            call_kwargs={
                "decode_timestep": 0.05,
                "decode_noise_scale": 0.025,
                "image_cond_noise_scale": 0.0,
            },
            timesteps=(1000.0, 993.0, 987.0, 981.0, 975.0, 909.0, 725.0, 0.03),
        ),
        Preset(
            id="wan2.1-1.3b",
            label="Wan 2.1 T2V 1.3B (480p)",
            family="wan",
            repo="Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
            t2v_pipeline="WanPipeline",
            i2v_pipeline=None,
            default_width=832,
            default_height=480,
            size_multiple=16,
            frame_stride=4,
            fps=16,
            default_frames=81,
            steps=50,
            guidance=5.0,
            max_side=848,
            max_pixels=848 * 480,
            max_frames=81,
            license="Apache-2.0",
            vram="8-11 GB (11 GB with STUDIO_DIFFUSION_OFFLOAD=model)",
            download="~17 GB (11 GB of it the UMT5-XXL text encoder)",
            sizes=("832x480", "480x832", "624x624"),
            fp32_components=("vae",),
        ),
        Preset(
            id="wan2.2-ti2v-5b",
            label="Wan 2.2 TI2V 5B (720p)",
            family="wan",
            repo="Wan-AI/Wan2.2-TI2V-5B-Diffusers",
            t2v_pipeline="WanPipeline",
            i2v_pipeline="WanImageToVideoPipeline",
            default_width=1280,
            default_height=704,
            # Its VAE compresses 16x and the transformer patches 2x2: multiples of 32.
            size_multiple=32,
            frame_stride=4,
            fps=24,
            default_frames=121,
            steps=50,
            guidance=5.0,
            max_side=1280,
            max_pixels=1280 * 704,
            max_frames=121,
            license="Apache-2.0",
            vram="at least 24 GB (22.9 GB peak published, with offload)",
            download="not measured; plan ~35 GB",
            sizes=("1280x704", "704x1280", "832x480", "480x832"),
            fp32_components=("vae",),
        ),
    )
}


def get_preset(preset_id: str) -> Preset:
    try:
        return PRESETS[preset_id]
    except KeyError:
        raise InvalidJobSpec(f"unknown preset {preset_id!r}; known: {', '.join(PRESETS)}") from None


def model_source(preset: Preset) -> str:
    """Where the preset's weights come from: a local directory or a repo id in the HF cache.

    ``STUDIO_DIFFUSION_MODEL_DIR_<PRESET>`` (e.g. ``..._LTX_0_9_8_DISTILLED``) wins over
    the JSON map ``STUDIO_DIFFUSION_MODELS`` (``{"preset-id": "dir-or-repo"}``), which
    wins over the preset's own repo.
    """
    direct = os.environ.get(f"STUDIO_DIFFUSION_MODEL_DIR_{preset.env_suffix}", "").strip()
    if direct:
        return direct
    raw = os.environ.get("STUDIO_DIFFUSION_MODELS", "").strip()
    if raw:
        try:
            mapping = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"STUDIO_DIFFUSION_MODELS is not valid JSON: {exc}") from exc
        value = mapping.get(preset.id) if isinstance(mapping, dict) else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return preset.repo


def fetch_hint(source: str) -> str:
    """How an operator gets ``source`` onto the machine; part of every missing-model error."""
    if os.path.isabs(source) or source.startswith("."):
        return f"put a diffusers-format model (with model_index.json) in {source}"
    hf_home = os.environ.get("HF_HOME", "~/.cache/huggingface")
    return (
        f"fetch it once on a machine with network access: `HF_HOME={hf_home} hf download {source}` "
        "into the model cache volume, or `docker compose run --rm models-fetch`"
    )


def capabilities() -> list[dict[str, Any]]:
    """Every preset as plain JSON-able dicts: what Studio may offer and must validate against."""
    out = []
    for p in PRESETS.values():
        out.append(
            {
                "id": p.id,
                "label": p.label,
                "family": p.family,
                "repo": p.repo,
                "source": model_source(p),
                "modes": p.modes,
                "image_to_video": p.i2v_pipeline is not None,
                "default_width": p.default_width,
                "default_height": p.default_height,
                "sizes": list(p.sizes),
                "size_multiple": p.size_multiple,
                "frame_stride": p.frame_stride,
                "max_side": size_caps(p)[0],
                "max_pixels": size_caps(p)[1],
                "fps": p.fps,
                "default_frames": p.default_frames,
                "default_seconds": round(p.default_frames / p.fps, 3),
                "min_frames": p.min_frames,
                "max_frames": p.max_frames,
                "max_seconds": round(p.max_frames / p.fps, 3),
                "steps": p.steps,
                "max_steps": MAX_STEPS,
                "guidance": p.guidance,
                "license": p.license,
                "vram": p.vram,
                "download": p.download,
            }
        )
    return out


@dataclass(frozen=True)
class JobSpec:
    """One job as Studio sends it (the task's only argument, a JSON object)."""

    prompt: str
    output_path: str
    negative_prompt: str = ""
    preset: str = DEFAULT_PRESET
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    seconds: float | None = None
    fps: int | None = None
    steps: int | None = None
    guidance: float | None = None
    seed: int | None = None
    image_path: str | None = None
    # The first frame inline (base64 PNG/JPEG), for a worker that shares no disk with Studio.
    image_b64: str | None = None
    # Where to PUT the finished MP4 (a presigned object-storage URL): the worker then keeps
    # no file, and needs neither credentials nor a shared volume.
    output_put_url: str | None = None
    job_id: str | None = None
    ignored_fields: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        """Validate a spec dict; unknown keys are ignored and listed. Raises InvalidJobSpec."""
        if not isinstance(data, Mapping):
            raise InvalidJobSpec(f"job spec must be a JSON object, got {type(data).__name__}")
        known = {f for f in cls.__dataclass_fields__ if f != "ignored_fields"}
        ignored = tuple(sorted(k for k in data if k not in known))

        prompt = _opt_str(data, "prompt")
        if not prompt or not prompt.strip():
            raise InvalidJobSpec("prompt is required")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise InvalidJobSpec(f"prompt is longer than {MAX_PROMPT_CHARS} characters")
        output_put_url = _opt_str(data, "output_put_url") or None
        if output_put_url is not None and not output_put_url.startswith(("http://", "https://")):
            raise InvalidJobSpec("output_put_url must be an http(s) URL")
        output_path = _opt_str(data, "output_path")
        if not output_path and output_put_url:
            # Scratch space of this machine only: the file goes to the URL.
            name = re.sub(r"[^A-Za-z0-9_.-]", "_", _opt_str(data, "job_id") or uuid.uuid4().hex)
            output_path = os.path.join(tempfile.gettempdir(), "studio-diffusion", f"{name}.mp4")
        if not output_path or not os.path.isabs(output_path):
            raise InvalidJobSpec("output_path is required and must be an absolute path")
        if not output_path.lower().endswith(".mp4"):
            raise InvalidJobSpec("output_path must end in .mp4")
        image_path = _opt_str(data, "image_path") or None
        if image_path is not None and not os.path.isabs(image_path):
            raise InvalidJobSpec("image_path must be an absolute path")
        image_b64 = _opt_str(data, "image_b64") or None
        seconds = _opt_number(data, "seconds")
        guidance = _opt_number(data, "guidance")
        if seconds is not None and seconds <= 0:
            raise InvalidJobSpec("seconds must be positive")
        if guidance is not None and not 0 <= guidance <= 30:
            raise InvalidJobSpec("guidance must be between 0 and 30")
        seed = _opt_int(data, "seed", 0, MAX_SEED)
        return cls(
            prompt=prompt,
            output_path=output_path,
            negative_prompt=_opt_str(data, "negative_prompt") or "",
            preset=_opt_str(data, "preset") or DEFAULT_PRESET,
            width=_opt_int(data, "width", 1, 16384),
            height=_opt_int(data, "height", 1, 16384),
            frames=_opt_int(data, "frames", 1, 100_000),
            seconds=seconds,
            fps=_opt_int(data, "fps", 1, 120),
            steps=_opt_int(data, "steps", 1, MAX_STEPS),
            guidance=guidance,
            seed=seed,
            image_path=image_path,
            image_b64=image_b64,
            output_put_url=output_put_url,
            job_id=_opt_str(data, "job_id"),
            ignored_fields=ignored,
        )


@dataclass(frozen=True)
class Plan:
    """A job snapped to its preset: exactly what the pipeline will be asked for."""

    preset: Preset
    mode: str
    width: int
    height: int
    frames: int
    fps: int
    steps: int
    guidance: float
    adjustments: tuple[str, ...]

    @property
    def seconds(self) -> float:
        return round(self.frames / self.fps, 3)


def size_caps(preset: Preset) -> tuple[int, int]:
    """The preset's (max side, max pixels), lowered by ``STUDIO_DIFFUSION_MAX_SIDE`` when the
    operator caps frame size for a smaller GPU (the tests use it to keep CPU jobs tiny)."""
    raw = os.environ.get("STUDIO_DIFFUSION_MAX_SIDE", "").strip()
    if not raw or int(raw) >= preset.max_side:
        return preset.max_side, preset.max_pixels
    side = max(preset.size_multiple, int(raw))
    return side, int(preset.max_pixels * (side / preset.max_side) ** 2)


def snap_size(preset: Preset, width: int, height: int) -> tuple[int, int]:
    """Floor (width, height) to the preset's multiple (1280x720 -> 1280x704 on LTX); if that
    is over the caps, shrink keeping the aspect, rounding to the nearest multiple, until it fits."""
    m = preset.size_multiple
    max_side, max_pixels = size_caps(preset)
    w, h = max(m, width // m * m), max(m, height // m * m)
    scale = min(1.0, math.sqrt(max_pixels / (width * height)), max_side / max(width, height))
    while (w * h > max_pixels or max(w, h) > max_side) and (w > m or h > m):
        w = max(m, math.floor(width * scale / m + 0.5) * m)
        h = max(m, math.floor(height * scale / m + 0.5) * m)
        scale *= 0.99
    return w, h


def snap_frames(preset: Preset, frames: int) -> int:
    """Nearest count of the form k*stride+1, clamped to the preset's range."""
    s = preset.frame_stride
    k = max(1, math.floor((frames - 1) / s + 0.5))
    return max(preset.min_frames, min(preset.max_frames, k * s + 1))


def snap(spec: JobSpec, image_size: tuple[int, int] | None = None) -> Plan:
    """Resolve defaults and snap a spec to its preset. ``image_size`` is the first frame's (w, h).

    With no width and height but a first-frame image, the size follows the image's aspect
    at the preset's default area. Raises InvalidJobSpec for an unknown preset, or an image
    for a preset with no image-to-video.
    """
    preset = get_preset(spec.preset)
    notes: list[str] = []
    mode = "i2v" if spec.image_path or spec.image_b64 else "t2v"
    if mode == "i2v" and preset.i2v_pipeline is None:
        raise InvalidJobSpec(
            f"preset {preset.id!r} has no image-to-video; use one of: {_i2v_presets()}"
        )

    fps = spec.fps or preset.fps

    if spec.width is None and spec.height is None:
        if image_size and image_size[0] > 0 and image_size[1] > 0:
            area = preset.default_width * preset.default_height
            aspect = image_size[0] / image_size[1]
            req_w, req_h = math.sqrt(area * aspect), math.sqrt(area / aspect)
        else:
            req_w, req_h = preset.default_width, preset.default_height
    elif spec.width is None:
        req_h = float(spec.height or preset.default_height)
        req_w = req_h * preset.default_width / preset.default_height
    elif spec.height is None:
        req_w = float(spec.width)
        req_h = req_w * preset.default_height / preset.default_width
    else:
        req_w, req_h = float(spec.width), float(spec.height)
    width, height = snap_size(preset, round(req_w), round(req_h))
    if spec.width is not None and spec.width != width:
        notes.append(f"width {spec.width} -> {width}")
    if spec.height is not None and spec.height != height:
        notes.append(f"height {spec.height} -> {height}")

    if spec.frames is not None:
        wanted = spec.frames
    elif spec.seconds is not None:
        wanted = max(1, round(spec.seconds * fps))
    else:
        wanted = preset.default_frames
    frames = snap_frames(preset, wanted)
    if (spec.frames is not None or spec.seconds is not None) and frames != wanted:
        notes.append(f"frames {wanted} -> {frames}")

    return Plan(
        preset=preset,
        mode=mode,
        width=width,
        height=height,
        frames=frames,
        fps=fps,
        steps=spec.steps or preset.steps,
        guidance=preset.guidance if spec.guidance is None else spec.guidance,
        adjustments=tuple(notes),
    )


def _i2v_presets() -> str:
    return ", ".join(p.id for p in PRESETS.values() if p.i2v_pipeline) or "none"


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidJobSpec(f"{key} must be a string")
    return value


def _opt_int(data: Mapping[str, Any], key: str, lo: int, hi: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidJobSpec(f"{key} must be an integer")
    if not lo <= value <= hi:
        raise InvalidJobSpec(f"{key} must be between {lo} and {hi}")
    return value


def _opt_number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidJobSpec(f"{key} must be a number")
    return float(value)
