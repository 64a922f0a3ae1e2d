"""Replicate's predictions API for any hosted video model (``owner/name``), through the
official ``replicate`` SDK. Configured in admin (Replicate account) or by
``REPLICATE_API_TOKEN``.

The protocol's traps (``shared/specs/providers.md`` §5), and what this adapter does:

* The SDK never retries the create POST; Studio does not either. A marker is committed
  before it (``providers.hosted.markers``); a create whose answer was lost is found again by paging
  the account's predictions (newest first) for one of the same model with the same input,
  made since the marker, that no other generation owns. Only when none is found is it sent
  again. The SDK's transport would sleep in a worker retrying GETs (up to 10 tries): it is
  replaced by a plain one, and the pipeline retries.
* The SDK sends the create with no timeout at all (``timeout=None``); the client here keeps
  its own limit on every call.
* A small table (``MODELS``) maps Studio's request to the input of known models (Wan, LTX,
  Kling on Replicate); any other ``owner/name`` gets ``prompt`` and ``seed``.
* Progress is parsed from the logs (the SDK's ``Prediction.progress``); a status outside
  the SDK's list fails the job with its name. Output may be a URL or a list of URLs.
* Webhooks (``webhook_events_filter=["completed"]``, when ``STUDIO_PUBLIC_URL`` is set) are
  verified with ``Webhooks.validate`` and only say "look now". Cancel is
  ``predictions.cancel``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pydantic.v1
from django.conf import settings
from replicate.client import Client as ReplicateClient
from replicate.exceptions import ReplicateError
from replicate.prediction import Prediction

from providers.base import (
    JobRequest,
    JobsTaken,
    JobState,
    JobStatus,
    ModerationError,
    PermanentError,
    ProviderError,
    TransientError,
)
from providers.hosted.config import timeout_seconds
from providers.hosted.http import OutputGone, never_sent, poll_interval, status_error, stream_url
from providers.hosted.provider import HostedProvider, studio_frame
from providers.replicate.catalog import GENERIC, MODELS, PRICES, ReplicateModel
from providers.replicate.models import ReplicateAccount

NAME = "Replicate"
RECONCILE_MAX = 300
CLOCK_SKEW_SECONDS = 120.0
POLICY_WORDS = ("nsfw", "safety", "content policy", "flagged")
# Each account's webhook signing secret, read from Replicate once per process.
_SECRETS: dict[tuple[str, str], str] = {}


class _Client(ReplicateClient):
    """The official client on a plain transport: no retries sleeping in a worker. The SDK
    sends its create with ``timeout=None`` (no limit at all, in httpx) unless it is told to
    ``Prefer: wait``; here every call keeps the client's timeout."""

    _plain: httpx.Client | None = None

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if "timeout" in kwargs and kwargs["timeout"] is None:
            del kwargs["timeout"]
        response: httpx.Response = super()._request(method, path, **kwargs)
        return response

    @property
    def _client(self) -> httpx.Client:
        if self._plain is None:
            self._plain = httpx.Client(
                base_url=self._base_url or "https://api.replicate.com",
                headers={
                    "Authorization": f"Bearer {self._api_token}",
                    "User-Agent": "studio",
                },
                timeout=self._timeout,
            )
        return self._plain


class ReplicateProvider(HostedProvider):
    """Replicate for one configured token. Safe to share between threads."""

    slug = "replicate"
    name = NAME
    description = "Any video model on Replicate, by owner/name."
    models = MODELS
    prices = PRICES
    account_model = ReplicateAccount
    env_prefix = "STUDIO_REPLICATE"

    def offers(self, model: str) -> bool:
        return "/" in model  # any owner/name, not only the known ones

    def model_label(self, model: str) -> str:
        return MODELS[model].label if model in MODELS else f"{model} (on Replicate)"

    def spec(self, model: str = "") -> ReplicateModel:
        models = self.model_ids()
        return MODELS.get(model or (models[0] if models else ""), GENERIC)

    @property
    def client(self) -> _Client:
        config = self.config()
        timeout = timeout_seconds()
        return self.cached_client(
            (config.api_key, config.base_url, timeout),
            lambda: _Client(
                api_token=config.api_key or "none",
                base_url=config.base_url or None,
                timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            ),
        )

    def webhook_url(self) -> str:
        base = settings.STUDIO_PUBLIC_URL.rstrip("/")
        return f"{base}/webhooks/replicate/" if base else ""

    def webhook_secret(self) -> str:
        """The account's signing secret: configured, else read once from Replicate."""
        config = self.config()
        if config.webhook_secret:
            return config.webhook_secret
        cache_key = (config.api_key, config.base_url)
        if cache_key not in _SECRETS:
            try:
                _SECRETS[cache_key] = str(self.client.webhooks.default.secret().key)
            except (ReplicateError, httpx.HTTPError) as exc:
                raise translate(exc) from exc
        return _SECRETS[cache_key]

    # --- exactly-once submission -------------------------------------------------------

    def reconcile(self, marker: dict[str, Any], taken: JobsTaken) -> str | None:
        """A listed prediction with the lost create's model and input, made since its
        marker, that no other generation owns (None: none, send it again). Raises
        TransientError when Replicate cannot be asked."""
        return self._match(marker, taken)

    def _match(self, marker: dict[str, Any], taken: JobsTaken) -> str | None:
        since = float(marker["sent_at"]) - CLOCK_SKEW_SECONDS
        candidates: list[tuple[float, str]] = []
        cursor: Any = ...
        seen = 0
        try:
            while seen < RECONCILE_MAX:
                page = self.client.predictions.list(cursor)
                oldest = float("inf")
                for prediction in page.results:
                    seen += 1
                    created = _timestamp(prediction.created_at)
                    oldest = min(oldest, created)
                    if (
                        created >= since
                        and prediction.model == marker["model"]
                        and prediction.input == marker["input"]
                    ):
                        candidates.append((created, prediction.id))
                if not page.next or not page.results or oldest < since:
                    break
                cursor = page.next
        except (ReplicateError, httpx.HTTPError) as exc:
            raise translate(exc) from exc
        owned = taken([job_id for _, job_id in candidates])
        free = sorted(c for c in candidates if c[1] not in owned)
        return free[0][1] if free else None

    def submit(self, request: JobRequest) -> str:
        """Send one create (the SDK never retries it); the marker committed first lets
        ``find_job`` find the prediction if the answer is lost."""
        model = request.model or self.model_ids()[0]
        spec = self.spec(model)
        frame = studio_frame(request.width, request.height)
        if model in MODELS and (frame not in spec.frames or request.seconds not in spec.seconds):
            raise PermanentError(f"{spec.label} cannot make this size or length.", code="size")
        inputs = spec.inputs(request, frame)
        params: dict[str, Any] = {}
        if self.webhook_url():
            params = {"webhook": self.webhook_url(), "webhook_events_filter": ["completed"]}

        def send() -> str:
            try:
                prediction = self.client.predictions.create(model=model, input=inputs, **params)
            except (pydantic.ValidationError, pydantic.v1.ValidationError) as exc:
                # A job may exist: the marker stays, and the next attempt looks it up.
                raise _Unreadable() from exc
            return str(prediction.id)

        return self.send_create(
            request.key,
            {"model": model, "input": inputs},
            send,
            errors=(ReplicateError, httpx.HTTPError, _Unreadable),
            refused=_certainly_refused,
            translate=translate,
        )

    # --- polling -----------------------------------------------------------------------

    def _get(self, job_id: str) -> Prediction | str:
        """The prediction, or its status name when it is outside the SDK's list."""
        try:
            prediction: Prediction = self.client.predictions.get(job_id)
            return prediction
        except (pydantic.ValidationError, pydantic.v1.ValidationError) as exc:
            # The SDK's model (pydantic v1) refuses a status outside its list.
            for error in exc.errors():
                if tuple(error.get("loc", ())) == ("status",):
                    context = error.get("ctx") or {}
                    return str(context.get("given") or error.get("input") or "unknown")
            return "unknown"
        except (ReplicateError, httpx.HTTPError) as exc:
            raise translate(exc) from exc

    def poll(self, job_id: str) -> JobStatus:
        prediction = self._get(job_id)
        if isinstance(prediction, str):
            return JobStatus(
                JobState.FAILED,
                error_code="unknown_status",
                error_message=f"Replicate ended the job as {prediction!r}.",
            )
        status = prediction.status
        if status in ("starting", "processing"):
            progress = prediction.progress
            age = time.time() - _timestamp(prediction.created_at)
            return JobStatus(
                JobState.QUEUED if status == "starting" else JobState.RUNNING,
                progress=int(progress.percentage * 100) if progress else 0,
                retry_after=poll_interval(age, webhooks=bool(self.webhook_url())),
            )
        if status == "succeeded":
            return JobStatus(JobState.COMPLETED, progress=100)
        if status == "canceled":
            return JobStatus(JobState.CANCELED, error_code="canceled")
        error = str(prediction.error or "").strip()
        if any(word in error.lower() for word in POLICY_WORDS):
            return JobStatus(
                JobState.REJECTED,
                error_code="content_policy",
                error_message=f"The model's safety check refused this video: {error}",
            )
        return JobStatus(
            JobState.FAILED,
            error_code="failed",
            error_message=error or "Replicate could not make this video.",
        )

    def download(self, job_id: str, dest: Path) -> list[Path]:
        """Stream the prediction's video (its output URL, or the first of a list)."""
        prediction = self._get(job_id)
        if isinstance(prediction, str) or prediction.status != "succeeded":
            raise PermanentError("Replicate's prediction has no video to save.", code="no_output")
        urls = _output_urls(prediction.output)
        videos = [u for u in urls if not u.split("?")[0].endswith((".png", ".jpg", ".webp"))]
        if not videos:
            raise PermanentError("Replicate's prediction has no video to save.", code="no_output")
        target = dest / "video-0.mp4"
        try:
            stream_url(videos[0], target, provider_name=NAME)
        except OutputGone as gone:
            raise PermanentError(
                f"Replicate's copy of the video expired before Studio could save it ({gone}). "
                "Generate it again.",
                code="download_expired",
            ) from gone
        return [target]

    def cancel(self, job_id: str) -> None:
        try:
            self.client.predictions.cancel(job_id)
        except (ReplicateError, httpx.HTTPError) as exc:
            error = translate(exc)
            if error.transient:
                raise error from exc


def _output_urls(output: Any) -> list[str]:
    if isinstance(output, str):
        return [output]
    if isinstance(output, list):
        return [str(u) for u in output if isinstance(u, str)]
    if isinstance(output, dict):
        return [str(u) for u in output.values() if isinstance(u, str)]
    return []


def _timestamp(value: str | None) -> float:
    from datetime import datetime

    if not value:
        return time.time()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()


class _Unreadable(Exception):
    """The create's answer could not be read: a prediction may exist."""


def _certainly_refused(exc: Exception) -> bool:
    if isinstance(exc, _Unreadable):
        return False
    if isinstance(exc, ReplicateError):
        return exc.status is not None and 400 <= exc.status < 500
    return never_sent(exc)


def translate(exc: Exception) -> ProviderError:
    """Sort an SDK error: transient (timeouts, connections, 429, 5xx, an unreadable
    answer), moderation, or permanent (with Replicate's detail)."""
    if isinstance(exc, _Unreadable):
        return TransientError("Replicate sent an unreadable answer.", code="bad_json")
    if isinstance(exc, httpx.TimeoutException):
        return TransientError("Replicate did not answer in time.", code="timeout")
    if not isinstance(exc, ReplicateError):
        return TransientError("Replicate could not be reached.", code="connection")
    detail = str(exc.detail or exc.title or "").strip()
    if exc.status == 422 and any(word in detail.lower() for word in POLICY_WORDS):
        return ModerationError(f"The model's safety check refused this prompt: {detail}")
    return status_error(NAME, exc.status or 500, detail, {})
