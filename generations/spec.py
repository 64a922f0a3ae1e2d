"""One way to ask for a video: a frozen ``GenerationSpec`` and the one validator that checks
it against the provider's capabilities and the creator's plan.

The Generate form, the ``generate`` command, admin's Retry, remix / extend and every later
caller build a spec and hand it to ``generation_create``; nobody spells the settings out
again. ``spec_validate`` returns the spec as it will be saved (prompt trimmed, provider and
model filled in) or raises ValidationError with plain messages keyed by form field. The
content policy (``policy.checks``) has the last word: a refused prompt or reference is a
form error naming the rule's public reason.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from accounts.models import Plan
from accounts.plans import plan_errors
from core.storage import local_copy
from generations.models import Asset, Generation, Video
from media.frames import ASPECT_RATIOS, RESOLUTIONS
from policy.checks import PolicyRefused, image_check, prompt_check
from policy.models import Refusal
from providers.base import Capabilities
from providers.registry import UnknownProvider, get_provider

MAX_SECONDS = 20
VARIATION_CHOICES = (1, 2, 4)


@dataclass(frozen=True)
class GenerationSpec:
    """Everything a creator chose for one press of Generate (or one edit of a video)."""

    prompt: str
    resolution: str = "720p"
    aspect_ratio: str = "16:9"
    seconds: int = 5
    variations: int = 1
    priority: bool = False
    provider: str = ""  # empty: the studio's default provider
    model: str = ""  # empty: the provider's first model
    seed: int | None = None  # empty: a random one at creation
    reference: Asset | None = None
    parent: Generation | None = None  # the generation this one was made from
    operation: str = Generation.Operation.CREATE
    source_video: Video | None = None  # the video a remix or an extension starts from
    parent_asset: Asset | None = None  # the upload or imported file an edit starts from
    prompt_in_credentials: bool = False
    audio: bool = False  # ask the model for a sound track
    last_frame: Asset | None = None  # an image the video ends on
    reference_as: str = Generation.ReferenceAs.FRAME  # the reference as first frame or subject
    compare_group: uuid.UUID | None = None  # made with others on several models (Compare)
    team_id: int | None = None  # a team job: on the team's plan, its quotas and spend

    def replace(self, **changes: Any) -> GenerationSpec:
        return dataclasses.replace(self, **changes)

    @classmethod
    def again(cls, generation: Generation) -> GenerationSpec:
        """The same request once more, as a child of ``generation`` (admin's Retry)."""
        return cls(
            prompt=generation.prompt,
            resolution=generation.resolution,
            aspect_ratio=generation.aspect_ratio,
            seconds=generation.seconds,
            variations=generation.variations,
            priority=generation.priority,
            provider=generation.provider,
            model=generation.model,
            seed=generation.seed,
            reference=generation.reference,
            parent=generation,
            operation=generation.operation,
            source_video=generation.source_video,
            prompt_in_credentials=generation.prompt_in_credentials,
            audio=generation.audio,
            last_frame=generation.last_frame,
            reference_as=generation.reference_as,
            team_id=generation.team_id,
        )

    @classmethod
    def derived(
        cls, video: Video, *, operation: str, prompt: str, seconds: int | None = None
    ) -> GenerationSpec:
        """A remix or an extension of ``video`` on the provider and model that made it;
        ``seconds`` is an extension's added length (default: the source's length)."""
        source = video.generation
        return cls(
            prompt=prompt,
            resolution=source.resolution,
            aspect_ratio=source.aspect_ratio,
            seconds=seconds or source.seconds,
            provider=source.provider,
            model=source.model,
            parent=source,
            operation=operation,
            source_video=video,
        )

    def model_fields(self) -> dict[str, Any]:
        """The Generation fields this spec sets."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


def spec_validate(spec: GenerationSpec, *, owner_id: int, plan: Plan) -> GenerationSpec:
    """Check ``spec`` against its provider and the owner's plan; returns it as it will be
    saved. Raises ValidationError with plain messages keyed by form field."""
    provider_slug = spec.provider or settings.STUDIO_DEFAULT_PROVIDER
    try:
        adapter = get_provider(provider_slug)
    except UnknownProvider as exc:
        raise ValidationError({"provider": str(exc)}) from exc
    caps = adapter.capabilities(spec.model)
    errors: dict[str, str] = {}
    prompt = spec.prompt.strip()
    if not prompt:
        errors["prompt"] = "Write a prompt."
    elif len(prompt) > settings.STUDIO_PROMPT_MAX_CHARS:
        errors["prompt"] = f"Prompts are limited to {settings.STUDIO_PROMPT_MAX_CHARS} characters."
    if spec.resolution not in RESOLUTIONS or spec.resolution not in caps.resolutions:
        errors["resolution"] = f"{adapter.name} does not make {spec.resolution} video."
    if spec.aspect_ratio not in ASPECT_RATIOS or spec.aspect_ratio not in caps.aspect_ratios:
        errors["aspect_ratio"] = f"{adapter.name} does not make {spec.aspect_ratio} video."
    max_seconds = min(caps.max_seconds, MAX_SECONDS)
    if not caps.min_seconds <= spec.seconds <= max_seconds:
        errors["seconds"] = f"Duration must be {caps.min_seconds}–{max_seconds} seconds."
    if spec.variations not in VARIATION_CHOICES or spec.variations > caps.max_variations:
        errors["variations"] = f"{adapter.name} makes up to {caps.max_variations} variations."
    if spec.model and spec.model not in caps.models:
        errors["provider"] = f"{adapter.name} has no model {spec.model!r} available now."
    reference = spec.reference
    if reference is not None:
        if reference.owner_id != owner_id:
            errors["reference"] = "That reference does not exist."
        elif reference.kind == Asset.Kind.IMAGE and not caps.image_input:
            errors["reference"] = f"{adapter.name} does not take a reference image."
        elif reference.kind == Asset.Kind.VIDEO and not caps.video_input:
            errors["reference"] = f"{adapter.name} does not take a reference clip."
    if spec.parent_asset is not None and spec.parent_asset.owner_id != owner_id:
        errors["reference"] = "That upload does not exist."
    errors.update(_frame_errors(spec, adapter.name, caps, owner_id=owner_id))
    if spec.operation != Generation.Operation.CREATE:
        able = {"remix": caps.remix, "extend": caps.extend}
        source = spec.source_video
        if (
            not able.get(spec.operation)
            or source is None
            or source.owner_id != owner_id
            or not source.generation.provider_job_id
        ):
            errors["prompt"] = f"This video's model cannot {spec.operation} it."
    if spec.audio and not caps.audio:
        errors["audio"] = f"{adapter.name} makes no sound with this model."
    refused = caps.refusal(
        resolution=spec.resolution, aspect_ratio=spec.aspect_ratio, seconds=spec.seconds
    )
    for name, message in refused.items():
        errors.setdefault(name, message)
    model = spec.model or (caps.models[0] if caps.models else "")
    for name, message in plan_errors(
        plan,
        resolution=spec.resolution,
        seconds=spec.seconds,
        variations=spec.variations,
        provider=provider_slug,
        model=model,
    ).items():
        errors.setdefault(name, message)
    if not errors:
        errors = _policy_errors(prompt, reference, owner_id=owner_id)
    if errors:
        raise ValidationError(errors)
    return spec.replace(prompt=prompt, provider=provider_slug, model=model)


def _frame_errors(
    spec: GenerationSpec, name: str, caps: Capabilities, *, owner_id: int
) -> dict[str, str]:
    """Errors for a last frame or a subject reference the model cannot take."""
    errors: dict[str, str] = {}
    last = spec.last_frame
    if last is not None:
        if last.owner_id != owner_id:
            errors["last_frame"] = "That image does not exist."
        elif last.kind != Asset.Kind.IMAGE:
            errors["last_frame"] = "The last frame must be an image."
        elif not caps.last_frame:
            errors["last_frame"] = f"{name} cannot end on a chosen frame with this model."
    if spec.reference_as not in Generation.ReferenceAs.values:
        errors["reference_as"] = "Choose how the reference is used."
    elif spec.reference_as == Generation.ReferenceAs.SUBJECT:
        if not caps.reference_images:
            errors["reference_as"] = f"{name} takes no subject reference with this model."
        elif spec.reference is None or spec.reference.kind != Asset.Kind.IMAGE:
            errors["reference_as"] = "A subject reference must be an image."
    return errors


def _policy_errors(prompt: str, reference: Asset | None, *, owner_id: int) -> dict[str, str]:
    """The content policy's word on a request that is otherwise valid (checked last, so a
    request refused anyway costs no moderation call): the prompt, then the reference."""
    try:
        prompt_check(prompt, user_id=owner_id)
    except PolicyRefused as exc:
        return {"prompt": exc.reason}
    if reference is None:
        return {}
    still = reference.file if reference.kind == Asset.Kind.IMAGE else reference.thumbnail
    try:
        with local_copy(still) as path:
            image_check(
                path,
                user_id=owner_id,
                stage=Refusal.Stage.REFERENCE,
                name=reference.original_name,
            )
    except PolicyRefused as exc:
        return {"reference": exc.reason}
    return {}
