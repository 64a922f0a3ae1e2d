"""The provider contract every backend adapter implements, and the errors it may raise.

A provider is driven by the pipeline (``generations.services.pipeline``) in four steps:
``submit`` (returns a job id at once), ``poll`` (one short look, never a wait),
``download`` (copies the finished files to a local folder) and ``cancel``. Errors are
sorted into transient ones (retried with backoff) and permanent ones (the job ends with
the message shown to the creator).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from django.dispatch import Signal

# Sent by a provider that heard from its backend about a job (a webhook), with the keyword
# arguments ``provider`` (its slug) and ``job_id``. The pipeline answers by looking at the
# job once, through its own poll: the backend's message itself is never trusted.
job_updated = Signal()

# Which of these provider job ids already belong to a generation; the pipeline passes it
# to ``Provider.find_job`` so that a provider needs no access to the generations.
JobsTaken = Callable[[Sequence[str]], set[str]]


def nothing_taken(job_ids: Sequence[str]) -> set[str]:
    return set()


@dataclass(frozen=True)
class Capabilities:
    """What a provider can make; the dashboard offers only these settings."""

    resolutions: tuple[str, ...] = ("480p", "720p", "1080p")
    aspect_ratios: tuple[str, ...] = ("16:9", "9:16", "1:1")
    min_seconds: int = 1
    max_seconds: int = 20
    max_variations: int = 4
    image_input: bool = False
    video_input: bool = False
    remix: bool = False
    extend: bool = False
    audio: bool = False
    models: tuple[str, ...] = ()
    # When not empty, the only clip lengths the provider makes (between min and max).
    seconds_choices: tuple[int, ...] = ()
    # When not empty, the only "resolution aspect_ratio" pairs it makes (e.g. "720p 16:9").
    frame_choices: tuple[str, ...] = ()
    # Native iterate tools: the reference as the first frame, a last frame, both ends as
    # keyframes (an image or an earlier generation), and a seamless loop.
    first_frame: bool = False
    last_frame: bool = False
    keyframes: bool = False
    loop: bool = False
    # The reference image as a subject to keep (a character, an object) rather than as
    # the first frame.
    reference_images: bool = False

    def refusal(self, *, resolution: str, aspect_ratio: str, seconds: int) -> dict[str, str]:
        """Form errors for a setting inside the ranges above that the provider still cannot
        make (a length or a frame size it lacks); empty when it can."""
        errors: dict[str, str] = {}
        if self.seconds_choices and seconds not in self.seconds_choices:
            lengths = ", ".join(str(s) for s in self.seconds_choices)
            errors["seconds"] = f"This model makes clips of {lengths} seconds."
        if self.frame_choices and f"{resolution} {aspect_ratio}" not in self.frame_choices:
            errors["resolution"] = f"This model does not make {resolution} {aspect_ratio} video."
        return errors


@dataclass(frozen=True)
class JobRequest:
    """Everything a provider needs to start one job. ``key`` is the idempotency key."""

    key: str
    prompt: str
    width: int
    height: int
    seconds: int
    fps: int
    variations: int = 1
    seed: int | None = None
    model: str = ""
    reference_path: Path | None = None
    reference_kind: str = ""
    # "create", or "remix" / "extend" of the provider's own job ``source_job_id``.
    operation: str = "create"
    source_job_id: str = ""
    # Ask for a sound track (only where the model's capabilities say ``audio``).
    audio: bool = False
    loop: bool = False
    # An image the video ends on (only where the capabilities say ``last_frame``).
    last_frame_path: Path | None = None
    # How the reference is used: "frame" (the first frame) or "subject" (a subject the
    # video keeps; only where the capabilities say ``reference_images``).
    reference_as: str = "frame"


@dataclass(frozen=True)
class Price:
    """A published list price: ``amount`` (a decimal string) per ``unit`` of output:
    "second" (of each video), "video" (each variation) or "request" (the whole job)."""

    unit: str
    amount: str
    currency: str = "USD"


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    REJECTED = "rejected"
    CANCELED = "canceled"


@dataclass(frozen=True)
class JobStatus:
    state: JobState
    progress: int | None = None
    error_code: str = ""
    error_message: str = ""
    # Seconds the provider asks us to wait before the next poll, when it says so.
    retry_after: float | None = None
    extra: dict[str, object] = field(default_factory=dict)
    # Something odd about the answer worth a line in the job's event log (once per job).
    warning: str = ""


class ProviderError(Exception):
    """A provider call failed. ``message`` is fit to show to the creator."""

    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retry_after = retry_after


class TransientError(ProviderError):
    """Worth another try later: rate limits, timeouts, 5xx, lost connections."""

    transient = True


class PermanentError(ProviderError):
    """Trying again will not help: bad request, auth, missing job."""


class ModerationError(PermanentError):
    """The provider's policy refused the prompt or its output: the job ends rejected."""


class Provider(ABC):
    """One generation backend. Subclasses set the class attributes and the five methods."""

    # Plain attributes, not ClassVars: one adapter class may serve several configured
    # endpoints, each an instance with its own slug and name.
    slug: str
    name: str
    description: ClassVar[str] = ""
    is_ai: ClassVar[bool] = True
    # True when ``download`` only copies files already on this machine's disk: the worker
    # that sees the job completed then downloads at once instead of queueing a step.
    results_are_local: ClassVar[bool] = False

    @abstractmethod
    def capabilities(self, model: str = "") -> Capabilities:
        """What the provider can make: with ``model``, what that one model can make."""

    def model_label(self, model: str) -> str:
        """A creator-facing name for one of the provider's models."""
        return model

    def is_available(self) -> bool:
        """Whether the dashboard should offer this provider now."""
        return True

    def published_price(self, model: str) -> Price | None:
        """The provider's published price for ``model`` (an estimate Studio seeds its
        operator-editable prices from); None when it costs nothing or is unknown."""
        return None

    def find_job(self, key: str, *, taken: JobsTaken = nothing_taken) -> str | None:
        """The job id already made for this idempotency key, if the provider can tell.

        Called before a submission whose earlier attempt's outcome is unknown (a crash,
        a timeout), so that a job is never sent twice. ``taken`` names the job ids that
        already belong to a generation (a provider that matches by listing skips them)."""
        return None

    @abstractmethod
    def submit(self, request: JobRequest) -> str:
        """Start a job and return its id. Raises ProviderError."""

    @abstractmethod
    def poll(self, job_id: str) -> JobStatus:
        """One look at the job, without waiting. Raises ProviderError."""

    @abstractmethod
    def download(self, job_id: str, dest: Path) -> list[Path]:
        """Copy the finished job's videos into the folder ``dest``, one file per variation,
        in order. Safe to call again. Raises ProviderError."""

    def cancel(self, job_id: str) -> None:  # noqa: B027 (optional hook)
        """Ask the provider to stop the job; best effort, never raises for a finished job."""

    def download_extras(self, job_id: str, dest: Path) -> dict[str, Path]:
        """Extra files the finished job has beside its video, by name (``thumbnail``,
        ``spritesheet``), copied into ``dest``. Missing extras are left out; never fails the
        job. Called after ``download``."""
        return {}

    def release(self, job_id: str) -> None:  # noqa: B027 (optional hook)
        """Forget a job whose files are in our storage (free the provider's scratch space)."""
