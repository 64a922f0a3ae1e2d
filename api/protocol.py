"""The OpenAI Videos protocol's shapes: a Generation as a ``Video`` object, Studio's states
as the protocol's statuses, and a create request's fields (including the gateway dialect:
``resolution`` / ``aspect_ratio`` / ``duration`` / ``fps``) as a ``GenerationSpec``.

Anything that cannot be honoured is an ApiError(400) naming the field, never a silent
change. Models are the dashboard's picker ids: a provider slug (``offline``) or
``provider:model``.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from api.errors import ApiError
from generations.models import DEFAULT_FPS, Generation
from generations.services.pipeline import PROGRESS_RUNNING_SPAN
from generations.spec import GenerationSpec
from generations.states import State
from media.frames import ASPECT_RATIOS, RESOLUTIONS, frame_size
from providers.base import Provider
from providers.registry import UnknownProvider, available_providers, get_provider

VIDEO_ID_PREFIX = "video_"
DEFAULT_SIZE = "720x1280"
DEFAULT_SECONDS = "4"
# "WxH" -> (resolution, aspect ratio), for every frame Studio makes.
SIZES: dict[str, tuple[str, str]] = {
    "{}x{}".format(*frame_size(r, a)): (r, a) for r in RESOLUTIONS for a in ASPECT_RATIOS
}
STATUS: dict[str, str] = {
    State.DRAFT: "queued",
    State.QUEUED: "queued",
    State.SUBMITTING: "queued",
    State.RUNNING: "in_progress",
    State.DOWNLOADING: "in_progress",
    State.FINISHING: "in_progress",
    State.SUCCEEDED: "completed",
    State.FAILED: "failed",
    State.REJECTED: "failed",
    State.CANCELED: "failed",
}
# Spec errors are keyed by form field; the protocol names its own fields.
PARAM_OF_FIELD = {
    "resolution": "size",
    "aspect_ratio": "size",
    "provider": "model",
    "reference": "input_reference",
    "variations": "n",
}


def video_id(generation: Generation) -> str:
    return VIDEO_ID_PREFIX + generation.pk.hex


def generation_pk(value: str) -> uuid.UUID | None:
    """The Generation id a protocol video id names, or None for anything malformed."""
    if not value.startswith(VIDEO_ID_PREFIX):
        return None
    try:
        return uuid.UUID(hex=value.removeprefix(VIDEO_ID_PREFIX))
    except ValueError:
        return None


def _picker_id(provider: Provider, model: str) -> str:
    caps = provider.capabilities()
    if not provider.is_ai or not caps.models:
        return provider.slug
    return f"{provider.slug}:{model}"


def model_id(generation: Generation) -> str:
    try:
        return _picker_id(get_provider(generation.provider), generation.model)
    except UnknownProvider:
        return f"{generation.provider}:{generation.model}"


def model_ids() -> list[str]:
    """Every model a create may name now (the dashboard's picker)."""
    ids: list[str] = []
    for provider in available_providers():
        caps = provider.capabilities()
        if not provider.is_ai or not caps.models:
            ids.append(provider.slug)
        else:
            ids.extend(f"{provider.slug}:{m}" for m in caps.models)
    return ids


def video_object(generation: Generation) -> dict[str, Any]:
    """The protocol's ``Video`` for one generation (one video each: variations are one)."""
    status = STATUS[generation.state]
    width, height = generation.size
    error = None
    if status == "failed":
        codes: dict[str, str] = {State.REJECTED: "moderation_blocked", State.CANCELED: "canceled"}
        code = codes.get(generation.state, generation.error_code or "failed")
        error = {
            "code": code,
            "message": generation.error_message
            or ("The job was canceled." if generation.state == State.CANCELED else "Failed."),
        }
    remixed_from = None
    if generation.operation == Generation.Operation.REMIX and generation.source_video_id:
        # Read with the generation where it was fetched for the protocol (no second row).
        source_generation = getattr(generation, "source_generation_id", None)
        if source_generation is None and generation.source_video is not None:
            source_generation = generation.source_video.generation_id
        if source_generation is not None:
            remixed_from = VIDEO_ID_PREFIX + source_generation.hex
    finished = generation.finished_at if generation.is_final else None
    return {
        "id": video_id(generation),
        "object": "video",
        "model": model_id(generation),
        "status": status,
        "progress": 100 if status == "completed" else min(int(generation.progress), 99),
        "created_at": int(generation.created_at.timestamp()),
        "completed_at": int(finished.timestamp()) if finished else None,
        "expires_at": None,
        "prompt": generation.prompt,
        "size": f"{width}x{height}",
        "seconds": str(generation.seconds),
        "remixed_from_video_id": remixed_from,
        "error": error,
    }


def poll_after_ms(generation: Generation) -> int | None:
    """A hint for the next retrieve from the job's expected remaining time; None once it
    has ended. Rendering (its progress has moved into the provider's span): half the time
    the progress rate says is left (0.2–5 s). Waiting, for a slot, a worker or the
    provider's own queue (running, but no progress reported yet): a quarter of the time it
    has waited so far (1–20 s), so a long queue is not polled every few seconds. Saving
    and finishing: a quarter of the time since it last moved (0.5–5 s)."""
    if generation.is_final:
        return None
    now = timezone.now()
    low, high = PROGRESS_RUNNING_SPAN
    done = (min(int(generation.progress), high) - low) / (high - low)
    if generation.state == State.RUNNING and generation.started_at and done > 0:
        elapsed = (now - generation.started_at).total_seconds()
        remaining = elapsed * (1 - done) / done
        return int(min(5000, max(200, remaining * 1000 / 2)))
    if generation.state in (State.DOWNLOADING, State.FINISHING):
        # Saving and finishing the file: a quarter of the time since the job last moved
        # (0.5–5 s); finishing waits its turn behind renders on a busy worker.
        still = (now - generation.updated_at).total_seconds()
        return int(min(5000, max(500, still * 1000 / 4)))
    waited = (now - (generation.queued_at or generation.created_at)).total_seconds()
    return int(min(20_000, max(1000, waited * 1000 / 4)))


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ApiError(400, f"Invalid type for '{name}': expected a string.", param=name)
    return str(value).strip()


def _whole_number(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ApiError(400, f"Invalid type for '{name}': expected a number.", param=name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"'{name}' must be a whole number of seconds.", param=name) from None
    if not math.isfinite(number) or number != int(number) or number < 1:
        raise ApiError(400, f"'{name}' must be a whole number of seconds.", param=name)
    if number > 10_000:
        raise ApiError(400, f"'{name}' is far too long.", param=name)
    return int(number)


def frame_from(fields: dict[str, Any]) -> tuple[str, str]:
    """(resolution, aspect ratio) from ``size`` or the ``resolution``/``aspect_ratio`` alias."""
    size = _text(fields, "size")
    resolution = _text(fields, "resolution")
    aspect = _text(fields, "aspect_ratio")
    frame: tuple[str, str] | None = None
    if size:
        frame = SIZES.get(size.lower())
        if frame is None:
            raise ApiError(
                400,
                f"Studio does not make size {size!r}. Sizes: {', '.join(sorted(SIZES))}.",
                param="size",
                code="invalid_value",
            )
    if resolution or aspect:
        res = resolution or (frame[0] if frame else "720p")
        if res not in RESOLUTIONS:
            raise ApiError(
                400,
                f"'resolution' must be one of {', '.join(RESOLUTIONS)}.",
                param="resolution",
                code="invalid_value",
            )
        ratio = aspect or (frame[1] if frame else "16:9")
        if ratio not in ASPECT_RATIOS:
            raise ApiError(
                400,
                f"'aspect_ratio' must be one of {', '.join(ASPECT_RATIOS)}.",
                param="aspect_ratio",
                code="invalid_value",
            )
        if frame is not None and frame != (res, ratio):
            raise ApiError(
                400,
                f"'size' {size} is not {res} {ratio}: send one of them.",
                param="size",
                code="invalid_value",
            )
        frame = (res, ratio)
    return frame or SIZES[DEFAULT_SIZE]


def seconds_from(fields: dict[str, Any]) -> int:
    seconds = fields.get("seconds")
    duration = fields.get("duration")
    if seconds is not None and seconds != "":
        value = _whole_number(seconds, "seconds")
        if duration is not None and duration != "" and _whole_number(duration, "duration") != value:
            raise ApiError(
                400, "'seconds' and 'duration' disagree: send one of them.", param="duration"
            )
        return value
    if duration is not None and duration != "":
        return _whole_number(duration, "duration")
    return int(DEFAULT_SECONDS)


def provider_model_from(fields: dict[str, Any]) -> tuple[str, str]:
    """(provider slug, model) for the ``model`` field; the studio's default when absent."""
    model = _text(fields, "model")
    if not model:
        return settings.STUDIO_DEFAULT_PROVIDER, ""
    slug, _, name = model.partition(":")
    try:
        provider = get_provider(slug)
    except UnknownProvider:
        provider = None
    if provider is not None and provider.is_available():
        return slug, name
    raise ApiError(
        400,
        f"Studio has no model {model!r}. Models: {', '.join(model_ids())}.",
        param="model",
        code="model_not_found",
    )


def check_fps(fields: dict[str, Any]) -> None:
    fps = fields.get("fps")
    if fps is None or fps == "":
        return
    if _whole_number(fps, "fps") != DEFAULT_FPS:
        raise ApiError(
            400, f"Studio makes {DEFAULT_FPS} fps video; 'fps' cannot be {fps}.", param="fps"
        )


def check_n(fields: dict[str, Any]) -> None:
    """Sora's create makes one video; several takes are several creates. An ``n`` other
    than 1 is refused rather than quietly ignored."""
    n = fields.get("n")
    if n is None or n == "":
        return
    if isinstance(n, bool) or str(n).strip() != "1":
        raise ApiError(
            400,
            "Each create makes one video: 'n' must be 1 (send one create per video).",
            param="n",
            code="invalid_value",
        )


def spec_from(fields: dict[str, Any]) -> GenerationSpec:
    """The spec a create asks for (before the one validator checks it). No reference yet."""
    prompt = _text(fields, "prompt")
    if not prompt:
        raise ApiError(400, "Missing required parameter: 'prompt'.", param="prompt")
    provider, model = provider_model_from(fields)
    resolution, aspect_ratio = frame_from(fields)
    check_fps(fields)
    check_n(fields)
    return GenerationSpec(
        prompt=prompt,
        resolution=resolution,
        aspect_ratio=aspect_ratio,
        seconds=seconds_from(fields),
        variations=1,
        provider=provider,
        model=model,
    )


def validation_error(messages: dict[str, list[str]]) -> ApiError:
    """The first of the one validator's messages, as the protocol's 400."""
    field, errors = next(iter(sorted(messages.items())))
    param: str | None = None if field == "__all__" else PARAM_OF_FIELD.get(field, field)
    return ApiError(400, " ".join(errors), param=param, code="invalid_value")
