"""Loading pipelines: once per worker process, from local files only, kept until evicted.

The cache is keyed by (preset, mode, source, device, dtype, offload). Settings come from
the environment:

- ``STUDIO_DIFFUSION_DEVICE``: ``cuda``, ``cpu`` or ``auto`` (default: cuda when present).
- ``STUDIO_DIFFUSION_DTYPE``: ``bfloat16``, ``float16``, ``float32`` or ``auto``
  (default: bfloat16 on cuda, float32 on cpu).
- ``STUDIO_DIFFUSION_OFFLOAD``: ``none`` (default), ``model`` (whole components to CPU
  between uses) or ``group`` (layer groups streamed to the GPU); cuda only.
- ``STUDIO_DIFFUSION_VAE_TILING``: ``1`` (default) or ``0``.
- ``STUDIO_DIFFUSION_MAX_LOADED``: base pipelines kept at once (default 1: switching
  presets frees the GPU for the next one).
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from diffusion_worker.errors import ModelNotAvailable
from diffusion_worker.presets import Preset, fetch_hint, model_source

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

_lock = threading.RLock()
_cache: OrderedDict[tuple[str, ...], Any] = OrderedDict()
_derived: dict[tuple[str, ...], Any] = {}
load_count = 0


@dataclass(frozen=True)
class Loaded:
    """A ready pipeline and how it was obtained."""

    pipe: Any  # a DiffusionPipeline subclass; called with its own keyword arguments
    source: str
    device: str
    dtype: str
    cached: bool
    load_seconds: float


def pick_device() -> str:
    wanted = os.environ.get("STUDIO_DIFFUSION_DEVICE", "auto").strip().lower() or "auto"
    if wanted != "auto":
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(device: str) -> str:
    wanted = os.environ.get("STUDIO_DIFFUSION_DTYPE", "auto").strip().lower() or "auto"
    if wanted != "auto":
        if wanted not in {"bfloat16", "float16", "float32"}:
            raise ValueError(
                f"STUDIO_DIFFUSION_DTYPE must be bfloat16, float16, float32 or auto, not {wanted!r}"
            )
        return wanted
    return "bfloat16" if device.startswith("cuda") else "float32"


def offload_policy() -> str:
    policy = os.environ.get("STUDIO_DIFFUSION_OFFLOAD", "none").strip().lower() or "none"
    if policy not in {"none", "model", "group"}:
        raise ValueError(f"STUDIO_DIFFUSION_OFFLOAD must be none, model or group, not {policy!r}")
    return policy


def resolve_model_dir(preset: Preset) -> tuple[str, str]:
    """(source, local directory) for the preset, without loading anything.

    Raises ModelNotAvailable, with the command that fetches it, when the weights are not
    on this machine. Never touches the network.
    """
    source = model_source(preset)
    if os.path.isabs(source) or source.startswith(".") or os.path.isdir(source):
        if not os.path.isfile(os.path.join(source, "model_index.json")):
            raise ModelNotAvailable(
                f"model for preset {preset.id!r} not found: {source} has no model_index.json; "
                f"{fetch_hint(source)}"
            )
        return source, source
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        local = snapshot_download(source, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError) as exc:
        raise ModelNotAvailable(
            f"model {source} for preset {preset.id!r} is not in the local Hugging Face cache "
            f"(HF_HOME={os.environ.get('HF_HOME', '~/.cache/huggingface')}); {fetch_hint(source)}"
        ) from exc
    return source, local


def model_available(preset: Preset) -> bool:
    try:
        resolve_model_dir(preset)
    except (ModelNotAvailable, ValueError):
        return False
    return True


def get_pipeline(preset: Preset, mode: str) -> Loaded:
    """The pipeline for ``preset`` in ``mode`` (``t2v`` or ``i2v``), loading it on first use.

    The image-to-video pipeline, where it is another class, shares the loaded components
    (``from_pipe``), so it costs no extra memory. Raises ModelNotAvailable.
    """
    global load_count
    device = pick_device()
    dtype = pick_dtype(device)
    offload = offload_policy() if device.startswith("cuda") else "none"
    with _lock:
        source, local_dir = resolve_model_dir(preset)
        key = (preset.id, source, device, dtype, offload)
        started = time.perf_counter()
        cached = key in _cache
        if cached:
            _cache.move_to_end(key)
            base = _cache[key]
        else:
            _evict_for_new()
            base = _load(preset, source, local_dir, device, dtype, offload)
            _cache[key] = base
            load_count += 1
        pipe = base
        wanted_cls = preset.i2v_pipeline if mode == "i2v" else preset.t2v_pipeline
        if wanted_cls and type(base).__name__ != wanted_cls:
            dkey = (*key, wanted_cls)
            pipe = _derived.get(dkey)
            if pipe is None:
                import diffusers

                pipe = getattr(diffusers, wanted_cls).from_pipe(base)
                pipe.set_progress_bar_config(disable=True)
                _derived[dkey] = pipe
        return Loaded(
            pipe=pipe,
            source=source,
            device=device,
            dtype=dtype,
            cached=cached,
            load_seconds=round(time.perf_counter() - started, 3),
        )


def clear_cache() -> None:
    """Drop every loaded pipeline and give the GPU memory back."""
    with _lock:
        _cache.clear()
        _derived.clear()
        _free_memory()


def _evict_for_new() -> None:
    keep = max(1, int(os.environ.get("STUDIO_DIFFUSION_MAX_LOADED", "1")))
    while len(_cache) >= keep:
        old_key, _ = _cache.popitem(last=False)
        for dkey in [k for k in _derived if k[: len(old_key)] == old_key]:
            del _derived[dkey]
        log.info("unloading %s to make room", old_key[0])
        _free_memory()


def _free_memory() -> None:
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _torch_dtype(name: str) -> torch.dtype:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


@functools.cache
def _quiet_libraries() -> None:
    """Keep per-job library chatter (progress bars, schedule notices) out of the worker log."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


def _load(
    preset: Preset, source: str, local_dir: str, device: str, dtype: str, offload: str
) -> Any:
    import diffusers
    import torch

    _quiet_libraries()

    cls = getattr(diffusers, preset.t2v_pipeline)
    main = _torch_dtype(dtype)
    dtypes: torch.dtype | dict[str, torch.dtype] = main
    if preset.fp32_components and main != torch.float32:
        dtypes = {"default": main, **dict.fromkeys(preset.fp32_components, torch.float32)}
    log.info("loading %s from %s (%s, %s, offload=%s)", preset.id, source, device, dtype, offload)
    started = time.perf_counter()
    try:
        pipe = cls.from_pretrained(local_dir, dtype=dtypes, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelNotAvailable(
            f"model {source} for preset {preset.id!r} could not be loaded from {local_dir} "
            f"(incomplete or not a diffusers model: {exc}); {fetch_hint(source)}"
        ) from exc
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "group":
        pipe.enable_group_offload(
            onload_device=torch.device(device),
            offload_device=torch.device("cpu"),
            offload_type="leaf_level",
            use_stream=True,
        )
    else:
        pipe.to(device)
    vae: Any = getattr(pipe, "vae", None)
    if os.environ.get("STUDIO_DIFFUSION_VAE_TILING", "1") != "0" and hasattr(vae, "enable_tiling"):
        vae.enable_tiling()
    pipe.set_progress_bar_config(disable=True)
    log.info("loaded %s in %.2fs", preset.id, time.perf_counter() - started)
    return pipe
