"""The base class of the hosted backends: configuration (admin row, else environment),
per-model capabilities and prices, one SDK client per configuration, the exactly-once
create (a committed marker first, see ``providers.hosted.markers``) and a download that
reads an expired output URL afresh."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, TypeVar

from providers.base import (
    Capabilities,
    JobsTaken,
    PermanentError,
    Price,
    Provider,
    ProviderError,
    TransientError,
    nothing_taken,
)
from providers.hosted.config import HostedConfig, load_config
from providers.hosted.http import (
    REFUSED_STATUSES,
    OutputGone,
    never_sent,
    status_error,
    stream_url,
    unknown_outcome,
)
from providers.hosted.markers import Markers
from providers.hosted.models import HostedAccount

log = logging.getLogger(__name__)
Client = TypeVar("Client")


@dataclass(frozen=True, kw_only=True)
class HostedModel:
    """One model a hosted backend offers: the "resolution aspect_ratio" frames and clip
    lengths it makes, and whether it makes sound."""

    label: str
    frames: tuple[str, ...]
    seconds: tuple[int, ...]
    audio: bool = False


def studio_frame(width: int, height: int) -> str:
    """Studio's "resolution aspect_ratio" name for a frame size ("" for none)."""
    from media.frames import ASPECT_RATIOS, RESOLUTIONS, frame_size

    for resolution in RESOLUTIONS:
        for ratio in ASPECT_RATIOS:
            if frame_size(resolution, ratio) == (width, height):
                return f"{resolution} {ratio}"
    return ""


def fit_image_bytes(path: Path, kind: str, size: tuple[int, int], *, fmt: str = "JPEG") -> bytes:
    """The reference as an image of exactly ``size`` (a clip gives its first frame)."""
    from PIL import Image, ImageOps

    from media.stills import extract_poster

    with tempfile.TemporaryDirectory(prefix="studio-ref-") as tmp:
        source = path
        if kind == "video":
            source = Path(tmp) / "first.jpg"
            extract_poster(path, source, at_fraction=0.0)
        with Image.open(source) as image:
            fitted = ImageOps.fit(image.convert("RGB"), size)
        out = Path(tmp) / f"reference.{fmt.lower()}"
        fitted.save(out, fmt, quality=90) if fmt == "JPEG" else fitted.save(out, fmt)
        return out.read_bytes()


class HostedProvider(Provider):
    """A hosted backend for one configured account. Subclasses set the class attributes,
    ``submit``, ``poll`` and ``download``, and ``reconcile`` where the API lists jobs.
    Safe to share between threads."""

    models: ClassVar[Mapping[str, HostedModel]]
    prices: ClassVar[Mapping[str, Price]] = {}
    account_model: ClassVar[type[HostedAccount]]
    # Settings ``<env_prefix>_API_KEY``, ``_BASE_URL``, ``_MODELS``, ``_WEBHOOK_SECRET``.
    env_prefix: ClassVar[str]
    base_url_name: ClassVar[str] = "BASE_URL"

    def __init__(self) -> None:
        self.markers = Markers(self.slug)
        self._clients: dict[Hashable, Any] = {}

    # --- configuration -------------------------------------------------------------------

    def config(self) -> HostedConfig:
        return load_config(self.account_model, self.env_prefix, base_url_name=self.base_url_name)

    def offers(self, model: str) -> bool:
        """Whether ``model`` may be configured (a known one, unless a subclass says more)."""
        return model in self.models

    def model_ids(self) -> tuple[str, ...]:
        wanted = self.config().models
        return tuple(m for m in (wanted or tuple(self.models)) if self.offers(m))

    def is_available(self) -> bool:
        return bool(self.config().api_key) and bool(self.model_ids())

    def model_label(self, model: str) -> str:
        return self.models[model].label if model in self.models else model

    def published_price(self, model: str) -> Price | None:
        return self.prices.get(model)

    def spec(self, model: str = "") -> HostedModel:
        """The model's entry; the account's first model (or the first known) for ""."""
        if model in self.models:
            return self.models[model]
        offered = [m for m in self.model_ids() if m in self.models]
        return self.models[offered[0] if offered else next(iter(self.models))]

    def model_for(self, requested: str) -> tuple[str, HostedModel]:
        """The model a job asked for (the account's first for ""), known to Studio."""
        model = requested or self.model_ids()[0]
        if model not in self.models:
            raise PermanentError(f"{self.name} has no model {model!r} in Studio.", code="model")
        return model, self.models[model]

    def capabilities(self, model: str = "") -> Capabilities:
        spec = self.spec(model)
        return Capabilities(
            resolutions=tuple(dict.fromkeys(f.split()[0] for f in spec.frames)),
            aspect_ratios=tuple(dict.fromkeys(f.split()[1] for f in spec.frames)),
            min_seconds=min(spec.seconds),
            max_seconds=max(spec.seconds),
            max_variations=1,
            audio=spec.audio,
            models=self.model_ids(),
            seconds_choices=spec.seconds,
            frame_choices=spec.frames,
        )

    def with_capabilities(self, model: str, **changes: Any) -> Capabilities:
        return dataclasses.replace(HostedProvider.capabilities(self, model), **changes)

    def cached_client(self, key: Hashable, make: Callable[[], Client]) -> Client:
        """One SDK client per configuration (``key``), made on first use."""
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = make()
        return client

    # --- exactly-once submission ---------------------------------------------------------

    def find_job(self, key: str, *, taken: JobsTaken = nothing_taken) -> str | None:
        """The job made for this key: none if no create was sent, the saved id if it
        answered, else what ``reconcile`` finds (None: send it again). Raises
        PermanentError where the API cannot look a job up, TransientError when it
        cannot be asked now."""
        marker = self.markers.read(key)
        if marker is None:
            return None
        if marker.get("job_id"):
            return str(marker["job_id"])
        found = self.reconcile(marker, taken)
        if found:
            log.info("%s: found job %s for key %s after a lost answer", self.slug, found, key)
            self.markers.write(key, {**marker, "job_id": found})
        return found

    def reconcile(self, marker: dict[str, Any], taken: JobsTaken) -> str | None:
        """The job a create whose answer was lost made. This default is for APIs that
        list no jobs: the job fails with a clear message rather than risk a second one."""
        raise unknown_outcome(self.name)

    def send_create(
        self,
        key: str,
        marker: Mapping[str, Any],
        send: Callable[[], str],
        *,
        errors: tuple[type[BaseException], ...],
        refused: Callable[[Any], bool],
        translate: Callable[[Any], ProviderError],
    ) -> str:
        """Send one create: the marker (with ``sent_at``) is committed first, the job id
        saved in it after. A failure in ``errors`` is translated; the marker is removed
        only when ``refused`` says the server certainly made nothing."""
        sent = {**marker, "sent_at": time.time()}
        self.markers.write(key, sent)
        self.markers.prune()
        try:
            job_id = send()
        except errors as exc:
            if refused(exc):
                self.markers.forget(key)
            raise translate(exc) from exc
        if not job_id:
            raise PermanentError(f"{self.name} answered the create without an id.", code="no_id")
        self.markers.write(key, {**sent, "job_id": job_id})
        return job_id

    # --- downloads -----------------------------------------------------------------------

    def fetch_video(self, job_id: str, dest: Path, video_url: Callable[[], str]) -> list[Path]:
        """Stream the job's video to ``dest/video-0.mp4``. ``video_url`` reads the URL
        fresh from the provider (raising when there is none); an expired link is read once
        more before the pipeline retries."""
        target = dest / "video-0.mp4"
        for attempt in range(2):
            try:
                stream_url(video_url(), target, provider_name=self.name)
            except OutputGone as gone:
                log.info("%s: video of %s answered %s (try %d)", self.slug, job_id, gone, attempt)
                continue
            return [target]
        raise TransientError(f"{self.name}'s video link had expired; it will be read again.")


# --- the Stainless SDKs' errors (runwayml, lumaai) ----------------------------------------


def sdk_refused(sdk: ModuleType, exc: Any) -> bool:
    """Whether a Stainless SDK's error proves the server made nothing: a 4xx answer, or
    no connection at all."""
    if isinstance(exc, sdk.APIStatusError):
        return exc.status_code in REFUSED_STATUSES
    return never_sent(exc)


def sdk_error(
    sdk: ModuleType,
    exc: Any,
    name: str,
    *,
    message_keys: tuple[str, ...],
    moderation: Callable[[int, dict[str, Any], str], ProviderError | None],
) -> ProviderError:
    """Sort a Stainless SDK's error: transient (timeouts, connections, 429, 5xx), refused
    by policy (``moderation`` gives the error for the status, body and server message),
    or permanent with the server's message (the first of ``message_keys`` in the body)."""
    if isinstance(exc, sdk.APITimeoutError):
        return TransientError(f"{name} did not answer in time.", code="timeout")
    if isinstance(exc, sdk.APIConnectionError):
        return TransientError(f"{name} could not be reached.", code="connection")
    if not isinstance(exc, sdk.APIStatusError):
        return PermanentError(f"{name} sent an unreadable answer: {exc}")
    body = exc.body if isinstance(exc.body, dict) else {}
    message = next((str(body[k]).strip() for k in message_keys if body.get(k)), "")
    refusal = moderation(exc.status_code, body, message)
    return refusal or status_error(name, exc.status_code, message, exc.response.headers)
