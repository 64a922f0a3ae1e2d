"""Google Veo on Vertex AI, through the official ``google-genai`` SDK. Configured in admin
(Veo account: project, location, service-account key file) or by ``STUDIO_VEO_PROJECT`` and
``GOOGLE_APPLICATION_CREDENTIALS``.

The protocol's traps (``shared/specs/providers.md`` §2), and what this adapter does:

* google-genai 3.x only makes videos through Vertex (``vertexai=True``): an API key is not
  enough. Credentials come from the key file; the token endpoint is the one it names.
* The create (``predictLongRunning``) takes no idempotency key and operations cannot be
  listed, so a create whose answer was lost (a marker without an id, ``providers.hosted.markers``)
  fails with a clear message rather than being sent again. The SDK does not retry by
  default; retries are opt-in (``retry_attempts``) and apply to polls only, never to the
  create.
* Variations are ``number_of_videos``; ``duration_seconds``, aspect ratio, resolution,
  seed and sound (``generate_audio``) are passed where the model has them. The reference
  image is the first frame, or (``reference_as="subject"``, Veo 3.1) an ``ASSET`` reference
  image the video keeps; a last frame is ``last_frame`` (Veo 3.1).
* An operation that ends with zero videos and RAI-filtered reasons ends ``rejected`` with
  those reasons; ``done`` with an ``error`` is a failure with its message.
* Without an output bucket the videos come back inline (``video_bytes``); with one
  (``output_gcs_uri``) they are ``gs://`` objects, streamed through the Cloud Storage JSON
  API with the same service account. The operation is read again at download, so nothing
  is held in memory between steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import quote

import google.auth.exceptions
import google.auth.transport.requests
import httpx
import httpx2
from django.conf import settings
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from google.oauth2 import service_account

from providers.base import (
    Capabilities,
    JobRequest,
    JobState,
    JobStatus,
    ModerationError,
    PermanentError,
    Price,
    ProviderError,
    TransientError,
)
from providers.hosted.config import first_enabled, split_list, timeout_seconds
from providers.hosted.http import OutputGone, never_sent, status_error, stream_url
from providers.hosted.provider import HostedModel, HostedProvider, fit_image_bytes, studio_frame
from providers.veo.models import VeoAccount

NAME = "Google Veo"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
POLICY_WORDS = ("usage guidelines", "safety", "responsible ai", "rai")


@dataclass(frozen=True, kw_only=True)
class VeoModel(HostedModel):
    last_frame: bool = False
    reference_images: bool = False


_VEO3_FRAMES = ("720p 16:9", "720p 9:16", "1080p 16:9", "1080p 9:16")
MODELS: dict[str, VeoModel] = {
    "veo-3.1-generate-001": VeoModel(
        label="Veo 3.1",
        frames=_VEO3_FRAMES,
        seconds=(4, 6, 8),
        audio=True,
        last_frame=True,
        reference_images=True,
    ),
    "veo-3.1-fast-generate-001": VeoModel(
        label="Veo 3.1 Fast", frames=_VEO3_FRAMES, seconds=(4, 6, 8), audio=True, last_frame=True
    ),
    "veo-2.0-generate-001": VeoModel(
        label="Veo 2", frames=("720p 16:9", "720p 9:16"), seconds=(5, 6, 7, 8)
    ),
}


# Published Vertex AI prices per second of video: estimates, editable in admin.
PRICES = {
    "veo-3.1-generate-001": Price("second", "0.40"),
    "veo-3.1-fast-generate-001": Price("second", "0.15"),
    "veo-2.0-generate-001": Price("second", "0.50"),
}


@dataclass(frozen=True)
class VeoConfig:
    project: str = ""
    location: str = "us-central1"
    credentials_file: str = ""
    base_url: str = ""
    models: tuple[str, ...] = ()
    retry_attempts: int = 0
    output_gcs_uri: str = ""


def veo_config() -> VeoConfig:
    """The first enabled admin row, else the environment."""
    row = first_enabled(VeoAccount)
    if row is not None:
        return VeoConfig(
            project=row.project,
            location=row.location,
            credentials_file=row.credentials_file,
            base_url=row.base_url,
            models=split_list(row.model_ids),
            retry_attempts=row.retry_attempts,
            output_gcs_uri=row.output_gcs_uri,
        )
    return VeoConfig(
        project=settings.STUDIO_VEO_PROJECT,
        location=settings.STUDIO_VEO_LOCATION,
        credentials_file=settings.STUDIO_VEO_CREDENTIALS_FILE,
        base_url=settings.STUDIO_VEO_BASE_URL,
        models=split_list(settings.STUDIO_VEO_MODELS),
        retry_attempts=settings.STUDIO_VEO_RETRY_ATTEMPTS,
        output_gcs_uri=settings.STUDIO_VEO_OUTPUT_GCS_URI,
    )


class VeoProvider(HostedProvider):
    """Veo in one Vertex AI project. Safe to share between threads."""

    slug = "veo"
    name = NAME
    description = "Google's Veo models on Vertex AI, with sound and variations."
    models = MODELS
    prices = PRICES
    account_model = VeoAccount
    env_prefix = "STUDIO_VEO"

    def __init__(self) -> None:
        super().__init__()
        self._credentials: dict[str, service_account.Credentials] = {}

    def model_ids(self) -> tuple[str, ...]:
        wanted = veo_config().models
        return tuple(m for m in (wanted or tuple(MODELS)) if m in MODELS)

    def is_available(self) -> bool:
        config = veo_config()
        return bool(config.project and config.credentials_file and self.model_ids())

    def capabilities(self, model: str = "") -> Capabilities:
        spec = cast(VeoModel, self.spec(model))
        return self.with_capabilities(
            model,
            max_variations=4,
            image_input=True,
            video_input=True,
            first_frame=True,
            last_frame=spec.last_frame,
            reference_images=spec.reference_images,
        )

    def _service_account(self, config: VeoConfig) -> service_account.Credentials:
        """The key file's credentials, read once (their token is shared by every call)."""
        credentials = self._credentials.get(config.credentials_file)
        if credentials is None:
            try:
                credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    config.credentials_file, scopes=SCOPES
                )
            except (OSError, ValueError) as exc:
                raise PermanentError(
                    f"Veo's service-account key could not be read ({exc}).", code="credentials"
                ) from exc
            self._credentials[config.credentials_file] = credentials
        return credentials

    def client(self, *, for_polls: bool = False) -> genai.Client:
        """A Vertex client; ``for_polls`` gets the opt-in retries, the create never."""
        config = veo_config()
        timeout = timeout_seconds()
        retries = None
        if for_polls and config.retry_attempts > 0:
            retries = types.HttpRetryOptions(attempts=config.retry_attempts)
        return self.cached_client(
            (config, timeout, for_polls),
            lambda: genai.Client(
                vertexai=True,
                project=config.project,
                location=config.location,
                credentials=self._service_account(config),
                http_options=types.HttpOptions(
                    base_url=config.base_url or None,
                    timeout=int(timeout * 1000),
                    retry_options=retries,
                ),
            ),
        )

    # --- exactly-once submission (operations cannot be listed: ``reconcile`` fails) --

    def _request(
        self, request: JobRequest
    ) -> tuple[str, types.GenerateVideosSource, types.GenerateVideosConfig]:
        model = request.model or self.model_ids()[0]
        spec = MODELS.get(model)
        if spec is None:
            raise PermanentError(f"Veo has no model {model!r} in Studio.", code="model")
        frame = studio_frame(request.width, request.height)
        if frame not in spec.frames or request.seconds not in spec.seconds:
            raise PermanentError(f"{spec.label} cannot make this size or length.", code="size")
        resolution, ratio = frame.split()
        size = (request.width, request.height)
        image = references = last = None
        if request.reference_path is not None:
            picture = _png(request.reference_path, request.reference_kind, size)
            if request.reference_as == "subject" and spec.reference_images:
                references = [
                    types.VideoGenerationReferenceImage(
                        image=picture, reference_type=types.VideoGenerationReferenceType.ASSET
                    )
                ]
            else:
                image = picture
        if request.last_frame_path is not None and spec.last_frame:
            last = _png(request.last_frame_path, "image", size)
        config = types.GenerateVideosConfig(
            number_of_videos=request.variations,
            duration_seconds=request.seconds,
            aspect_ratio=ratio,
            resolution=resolution,
            seed=request.seed % 4294967295 if request.seed is not None else None,
            generate_audio=request.audio if spec.audio else None,
            last_frame=last,
            reference_images=references,
            output_gcs_uri=veo_config().output_gcs_uri or None,
        )
        return model, types.GenerateVideosSource(prompt=request.prompt, image=image), config

    def submit(self, request: JobRequest) -> str:
        model, source, config = self._request(request)

        def send() -> str:
            operation = self.client().models.generate_videos(
                model=model, source=source, config=config
            )
            return operation.name or ""

        return self.send_create(
            request.key,
            {"model": model},
            send,
            errors=(genai_errors.APIError, httpx.HTTPError, httpx2.HTTPError),
            refused=_refused,
            translate=_translate_any,
        )

    # --- polling -----------------------------------------------------------------------

    def _operation(self, job_id: str) -> types.GenerateVideosOperation:
        try:
            return self.client(for_polls=True).operations.get(
                types.GenerateVideosOperation.model_validate({"name": job_id})
            )
        except genai_errors.APIError as exc:
            raise translate(exc) from exc
        except (httpx.HTTPError, httpx2.HTTPError) as exc:
            raise translate_http(exc) from exc

    def poll(self, job_id: str) -> JobStatus:
        operation = self._operation(job_id)
        if not operation.done:
            return JobStatus(JobState.RUNNING, progress=0)
        if operation.error:
            message = str(operation.error.get("message") or "Veo could not make this video.")
            if any(word in message.lower() for word in POLICY_WORDS):
                return JobStatus(
                    JobState.REJECTED,
                    error_code="rai",
                    error_message=f"Google's policy refused this video: {message}",
                )
            return JobStatus(
                JobState.FAILED,
                error_code=str(operation.error.get("code") or "failed"),
                error_message=message,
            )
        result = operation.result or operation.response
        videos = list(result.generated_videos or []) if result else []
        if not videos:
            reasons = list(result.rai_media_filtered_reasons or []) if result else []
            if reasons or (result and result.rai_media_filtered_count):
                return JobStatus(
                    JobState.REJECTED,
                    error_code="rai_filtered",
                    error_message="Google's safety filters removed every video: "
                    + ("; ".join(reasons) or "no reason given")
                    + ".",
                )
            return JobStatus(
                JobState.FAILED, error_code="no_videos", error_message="Veo returned no video."
            )
        return JobStatus(JobState.COMPLETED, progress=100)

    def download(self, job_id: str, dest: Path) -> list[Path]:
        """Each generated video, in order: its inline bytes, its https URL, or its gs://
        object read through the Cloud Storage JSON API with the service account."""
        operation = self._operation(job_id)
        result = operation.result or operation.response
        videos = list(result.generated_videos or []) if result else []
        files: list[Path] = []
        for index, generated in enumerate(videos):
            video = generated.video
            target = dest / f"video-{index}.mp4"
            uri = (video.uri or "") if video is not None else ""
            if video is not None and video.video_bytes:
                target.write_bytes(video.video_bytes)
            elif uri.startswith("https://"):
                stream_url(uri, target, provider_name=NAME)
            elif uri.startswith("gs://"):
                self._fetch_object(uri, target)
            else:
                raise PermanentError("Veo returned a video Studio cannot read.", code="no_output")
            files.append(target)
        if not files:
            raise PermanentError("Veo returned no video.", code="no_output")
        return files

    def _fetch_object(self, uri: str, target: Path) -> None:
        """Stream ``gs://bucket/object`` (``alt=media``) with the service account's token."""
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        base = settings.STUDIO_VEO_STORAGE_URL.rstrip("/")
        url = f"{base}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}?alt=media"
        credentials = self._service_account(veo_config())
        try:
            if not credentials.valid:
                credentials.refresh(google.auth.transport.requests.Request())  # type: ignore[no-untyped-call]
        except google.auth.exceptions.GoogleAuthError as exc:
            raise TransientError(f"Veo's storage token could not be had ({exc}).") from exc
        headers = {"Authorization": f"Bearer {credentials.token}"}
        try:
            stream_url(url, target, provider_name=NAME, headers=headers)
        except OutputGone as gone:
            raise PermanentError(
                f"Veo's video {uri} could not be read from its bucket ({gone}): check that the "
                "service account may read it.",
                code="no_output",
            ) from gone

    def cancel(self, job_id: str) -> None:
        """Vertex's video operations have no cancel; a job past its deadline is left."""


def _refused(exc: Exception) -> bool:
    """Whether Vertex certainly made nothing: a 4xx answer, or no connection at all."""
    if isinstance(exc, genai_errors.APIError):
        return 400 <= int(exc.code or 500) < 500
    return never_sent(exc) or isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout)


def _translate_any(exc: Exception) -> ProviderError:
    if isinstance(exc, genai_errors.APIError):
        return translate(exc)
    assert isinstance(exc, httpx.HTTPError | httpx2.HTTPError)
    return translate_http(exc)


def _png(path: Path, kind: str, size: tuple[int, int]) -> types.Image:
    return types.Image(
        image_bytes=fit_image_bytes(path, kind, size, fmt="PNG"), mime_type="image/png"
    )


def translate(exc: genai_errors.APIError) -> ProviderError:
    code = int(exc.code or 500)
    message = str(exc.message or "").strip()
    if code == 400 and any(word in message.lower() for word in POLICY_WORDS):
        return ModerationError(f"Google's policy refused this prompt: {message}")
    return status_error(NAME, code, message, {})


def translate_http(exc: httpx.HTTPError | httpx2.HTTPError) -> ProviderError:
    """The SDK's transport is httpx2 when installed, else httpx: either's errors."""
    if isinstance(exc, httpx.TimeoutException | httpx2.TimeoutException):
        return TransientError("Vertex AI did not answer in time.", code="timeout")
    return TransientError("Vertex AI could not be reached.", code="connection")
