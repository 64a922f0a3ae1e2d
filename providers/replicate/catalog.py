"""The Replicate models Studio knows (Wan, LTX, Kling on Replicate): the frames and clip
lengths each makes, how Studio's request maps to its input, and its published price. Any
other ``owner/name`` is run with ``GENERIC``'s input (``prompt`` and ``seed``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from providers.base import JobRequest, Price
from providers.hosted.provider import HostedModel


@dataclass(frozen=True, kw_only=True)
class ReplicateModel(HostedModel):
    inputs: Callable[[JobRequest, str], dict[str, Any]]


def _ratio(frame: str) -> str:
    return frame.split()[1]


def _wan(request: JobRequest, frame: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": request.prompt,
        "aspect_ratio": _ratio(frame),
        "resolution": frame.split()[0],
    }
    if request.seed is not None:
        data["seed"] = request.seed
    return data


def _ltx(request: JobRequest, frame: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": request.prompt,
        "aspect_ratio": _ratio(frame),
        "duration": request.seconds,
    }
    if request.seed is not None:
        data["seed"] = request.seed
    return data


def _kling(request: JobRequest, frame: str) -> dict[str, Any]:
    return {"prompt": request.prompt, "aspect_ratio": _ratio(frame), "duration": request.seconds}


def _generic(request: JobRequest, frame: str) -> dict[str, Any]:
    data: dict[str, Any] = {"prompt": request.prompt}
    if request.seed is not None:
        data["seed"] = request.seed
    return data


MODELS: dict[str, ReplicateModel] = {
    "wan-video/wan-2.2-t2v-fast": ReplicateModel(
        label="Wan 2.2 (on Replicate)",
        frames=("480p 16:9", "480p 9:16", "720p 16:9", "720p 9:16"),
        seconds=(5,),
        inputs=_wan,
    ),
    "lightricks/ltx-2-fast": ReplicateModel(
        label="LTX-2 Fast (on Replicate)",
        frames=("1080p 16:9", "1080p 9:16"),
        seconds=(6, 8, 10),
        inputs=_ltx,
        audio=True,
    ),
    "kwaivgi/kling-v2.5-turbo-pro": ReplicateModel(
        label="Kling 2.5 Turbo Pro (on Replicate)",
        frames=("720p 16:9", "720p 9:16", "720p 1:1", "1080p 16:9", "1080p 9:16", "1080p 1:1"),
        seconds=(5, 10),
        inputs=_kling,
    ),
}
# Published prices of the known models: estimates, editable in admin.
PRICES = {
    "wan-video/wan-2.2-t2v-fast": Price("video", "0.05"),
    "lightricks/ltx-2-fast": Price("second", "0.04"),
    "kwaivgi/kling-v2.5-turbo-pro": Price("second", "0.07"),
}

# What Studio assumes of a model it does not know: whatever it makes is saved.
GENERIC = ReplicateModel(label="", frames=("720p 16:9",), seconds=(5,), inputs=_generic)
