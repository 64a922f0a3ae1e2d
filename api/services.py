"""The API's writes: a create (its input reference, and its Idempotency-Key), a remix or an
extension of a video, and a deletion. Every one goes through the generations services with
the one ``GenerationSpec`` and validator the dashboard uses."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.plans import account_get_for_user, plan_errors
from api.errors import ApiError, not_found
from api.models import IdempotencyRecord
from api.protocol import generation_pk, seconds_from, spec_from, validation_error
from generations import services
from generations.models import Asset, Generation, Video
from generations.spec import GenerationSpec

IDEMPOTENCY_WINDOW = timedelta(hours=24)
_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+)?(;base64)?,", re.IGNORECASE)


def generations_for_protocol(user: User) -> QuerySet[Generation]:
    """The caller's generations, each with what ``video_object`` reads: the generation its
    source video belongs to comes as ``source_generation_id`` (one column, not two joined
    rows: compiling and reading those was most of a retrieve's cost)."""
    return Generation.objects.filter(owner=user).annotate(
        source_generation_id=F("source_video__generation_id")
    )


def generation_for(user: User, value: str) -> Generation:
    """The caller's generation a protocol video id names; another owner's is a 404."""
    pk = generation_pk(value)
    if pk is None:
        raise not_found()
    found = generations_for_protocol(user).filter(pk=pk).order_by()[:1]
    for generation in found:
        return generation
    raise not_found()


def _asset_from_upload(owner: User, upload: UploadedFile[bytes]) -> Asset:
    try:
        return services.asset_create(owner=owner, upload=upload)
    except ValidationError as exc:
        raise ApiError(
            422, " ".join(exc.messages), param="input_reference", code="invalid_file"
        ) from exc


def _asset_from_reference(owner: User, reference: Any) -> Asset:
    """An ``input_reference`` object: ``{file_id}`` of an uploaded asset, or ``{image_url}``
    as a data URL (no fetching of remote URLs: the studio makes no requests for callers)."""
    if not isinstance(reference, dict):
        raise ApiError(
            400,
            '\'input_reference\' must be a file upload, {"file_id": ...} or {"image_url": ...}.',
            param="input_reference",
        )
    file_id, image_url = reference.get("file_id"), reference.get("image_url")
    if (file_id is None) == (image_url is None):
        raise ApiError(
            400,
            "'input_reference' takes exactly one of 'file_id' and 'image_url'.",
            param="input_reference",
        )
    if file_id is not None:
        try:
            pk = uuid.UUID(str(file_id).removeprefix("file-").removeprefix("file_"))
        except ValueError:
            raise ApiError(404, "No file with that id.", param="input_reference") from None
        asset = Asset.objects.filter(pk=pk, owner=owner).first()
        if asset is None:
            raise ApiError(404, "No file with that id.", param="input_reference")
        return asset
    if not isinstance(image_url, str) or not _DATA_URL.match(image_url):
        raise ApiError(
            400,
            "'image_url' must be a data URL (data:image/png;base64,...); Studio does not "
            "fetch remote images.",
            param="input_reference",
        )
    head, _, data = image_url.partition(",")
    try:
        raw = base64.b64decode(data, validate=True) if ";base64" in head.lower() else data.encode()
    except (binascii.Error, ValueError):
        raise ApiError(400, "'image_url' is not valid base64.", param="input_reference") from None
    return _asset_from_upload(owner, SimpleUploadedFile("reference", raw))


def request_hash(fields: dict[str, Any], files: dict[str, bytes]) -> str:
    """What makes two creates "the same body" for an Idempotency-Key."""
    digest = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    body = json.dumps({"fields": fields, "files": digest}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _create(
    owner: User, fields: dict[str, Any], uploads: dict[str, UploadedFile[bytes]]
) -> Generation:
    spec = spec_from(fields)
    reference: Asset | None = None
    if "input_reference" in uploads:
        reference = _asset_from_upload(owner, uploads["input_reference"])
    elif fields.get("input_reference") not in (None, ""):
        reference = _asset_from_reference(owner, fields["input_reference"])
    try:
        return services.generation_create(owner=owner, spec=spec.replace(reference=reference))
    except ValidationError as exc:
        raise _refusal(owner, spec, exc) from exc


def _refusal(owner: User, spec: GenerationSpec, exc: ValidationError) -> ApiError:
    """The one validator's refusal as the protocol's error: 403 when the owner's plan is
    what refuses (a setting the model could make), else 400."""
    error = validation_error(exc.message_dict)
    plan = account_get_for_user(owner).plan
    by_plan = plan_errors(
        plan,
        resolution=spec.resolution,
        seconds=spec.seconds,
        variations=spec.variations,
        provider=spec.provider,
        model=spec.model,
    )
    if error.message in by_plan.values():
        return ApiError(403, error.message, param=error.param, code="plan_limit")
    return error


def video_create(
    *,
    owner: User,
    fields: dict[str, Any],
    uploads: dict[str, UploadedFile[bytes]],
    idempotency_key: str = "",
) -> tuple[Generation, bool]:
    """Create one video; returns it and whether it was made now (False: an earlier create
    with the same Idempotency-Key and body). Raises ApiError: 400 for what the spec or the
    plan refuses, 409 for a key reused with another body. Nothing is saved on an error."""
    if not idempotency_key:
        return _create(owner, fields, uploads), True
    if len(idempotency_key) > 255:
        raise ApiError(400, "Idempotency-Key is limited to 255 characters.", param=None)
    files = {name: b"".join(upload.chunks()) for name, upload in sorted(uploads.items())}
    for upload in uploads.values():
        upload.seek(0)
    digest = request_hash(fields, files)
    for _ in range(3):
        try:
            with transaction.atomic():
                record = (
                    IdempotencyRecord.objects.select_for_update()
                    .filter(owner=owner, key=idempotency_key)
                    .first()
                )
                if record is not None and record.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
                    record.delete()
                    record = None
                if record is not None:
                    if record.request_hash != digest:
                        raise ApiError(
                            409,
                            "This Idempotency-Key was used with another request body.",
                            code="idempotency_key_reused",
                            headers={"x-should-retry": "false"},
                        )
                    if record.generation is None:
                        raise not_found()  # the video made under this key was deleted
                    return record.generation, False
                record = IdempotencyRecord.objects.create(
                    owner=owner, key=idempotency_key, request_hash=digest
                )
                generation = _create(owner, fields, uploads)
                record.generation = generation
                record.save(update_fields=["generation"])
                return generation, True
        except IntegrityError:
            continue  # a simultaneous create with this key won: read its record
    raise ApiError(409, "A create with this Idempotency-Key is in progress.", code="conflict")


def _source_video(owner: User, value: Any, param: str) -> Video:
    """The first video of the caller's completed generation ``value`` (a protocol id, or
    ``{"id": ...}``)."""
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise ApiError(400, f'\'{param}\' must name a video: {{"id": "video_..."}}.', param=param)
    generation = generation_for(owner, value)
    video = generation.videos.order_by("index").first()
    if generation.state != Generation.State.SUCCEEDED or video is None:
        raise ApiError(400, "Only a completed video can be used.", param=param)
    return video


def video_derive(*, owner: User, operation: str, fields: dict[str, Any], source: Any) -> Generation:
    """A remix, an edit (a remix with a new prompt) or an extension of one of the caller's
    videos: a child generation with ``parent`` and ``source_video`` set."""
    param = "video_id" if operation == "remix" else "video"
    video = _source_video(owner, source, param)
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ApiError(400, "Missing required parameter: 'prompt'.", param="prompt")
    seconds = seconds_from(fields) if operation == "extend" and fields.get("seconds") else None
    kind = Generation.Operation.EXTEND if operation == "extend" else Generation.Operation.REMIX
    spec = GenerationSpec.derived(video, operation=kind, prompt=prompt, seconds=seconds)
    try:
        return services.generation_create(owner=owner, spec=spec)
    except ValidationError as exc:
        raise _refusal(owner, spec, exc) from exc


def video_delete(*, generation: Generation) -> None:
    services.generation_delete(generation=generation)
