"""Domain models: Plan and Account (what a creator may do), Asset (an upload), Generation
(one press of Generate) with its event log, Video (one result file), and VideoEndpoint (an
OpenAI-compatible server to generate on)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from generations.states import ACTIVE_STATES, State, is_final

RESOLUTIONS: dict[str, int] = {"480p": 480, "720p": 720, "1080p": 1080}
ASPECT_RATIOS: dict[str, tuple[int, int]] = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
VARIATION_CHOICES = (1, 2, 4)
MAX_SECONDS = 20
DEFAULT_FPS = 24


def frame_size(resolution: str, aspect_ratio: str) -> tuple[int, int]:
    """Width and height in pixels: the short side is the resolution, both sides even."""
    short = RESOLUTIONS[resolution]
    a, b = ASPECT_RATIOS[aspect_ratio]
    long_side = round(short * max(a, b) / min(a, b) / 2) * 2
    return (long_side, short) if a >= b else (short, long_side)


class Plan(models.Model):
    """What a creator may do: limits on settings, priority and concurrent jobs, downloads."""

    name = models.CharField(max_length=60, unique=True)
    max_resolution = models.CharField(
        max_length=8, choices=[(r, r) for r in RESOLUTIONS], default="720p"
    )
    max_seconds = models.PositiveSmallIntegerField(default=10)
    max_variations = models.PositiveSmallIntegerField(default=2)
    priority_per_month = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Priority generations per calendar month; empty = unlimited.",
    )
    concurrent_jobs = models.PositiveSmallIntegerField(
        default=1, help_text="Jobs that may run at once; more wait in the queue."
    )
    watermark_free = models.BooleanField(
        default=False, help_text="Downloads without the visible watermark."
    )
    allowed_models = models.TextField(
        blank=True,
        help_text="One provider (offline) or provider:model per line; empty allows every model.",
    )
    is_default = models.BooleanField(default=False, help_text="The plan new sign-ups get.")
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_plan",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    """A creator's plan. Its row is also the lock that makes quota counting race-free."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.plan})"


def _asset_path(instance: Asset, filename: str) -> str:
    return f"assets/{instance.owner_id}/{instance.id}/original.{instance.extension}"


def _video_path(instance: Video, filename: str) -> str:
    return f"videos/{instance.owner_id}/{instance.id}/{filename}"


class Asset(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.FileField(upload_to=_asset_path, max_length=300)
    thumbnail = models.FileField(upload_to=_asset_path, max_length=300, blank=True)
    original_name = models.CharField(max_length=255)
    mime = models.CharField(max_length=64)
    extension = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration = models.FloatField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return self.original_name


class Generation(models.Model):
    """One press of Generate: the prompt, the settings, the job's state and its provider job."""

    State = State

    class Operation(models.TextChoices):
        CREATE = "create", "Create"
        REMIX = "remix", "Remix"
        EXTEND = "extend", "Extend"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    prompt = models.TextField()
    resolution = models.CharField(max_length=8, default="720p")
    aspect_ratio = models.CharField(max_length=8, default="16:9")
    seconds = models.PositiveSmallIntegerField(default=5)
    fps = models.PositiveSmallIntegerField(default=DEFAULT_FPS)
    variations = models.PositiveSmallIntegerField(default=1)
    priority = models.BooleanField(default=False)
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    reference = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL)
    operation = models.CharField(max_length=16, choices=Operation.choices, default=Operation.CREATE)
    # The video a remix or an extension starts from (made by the same provider).
    source_video = models.ForeignKey(
        "Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived"
    )
    # The creator's choice to put the prompt itself (not only its hash) in the credentials.
    prompt_in_credentials = models.BooleanField(default=False)

    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    progress = models.PositiveSmallIntegerField(default=0)
    # The idempotency key sent with the submission; it finds the provider job after a crash.
    submit_key = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    provider_job_id = models.CharField(max_length=255, blank=True, db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    # When the job got one of its owner's concurrent-job slots and went to the workers;
    # empty while it waits in the queue for a slot.
    admitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["state", "updated_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.prompt[:60]} ({self.get_state_display()})"

    def get_absolute_url(self) -> str:
        return reverse("generation_detail", args=[self.id])

    @property
    def size(self) -> tuple[int, int]:
        return frame_size(self.resolution, self.aspect_ratio)

    @property
    def is_final(self) -> bool:
        return is_final(self.state)

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def queue(self) -> str:
        return "priority" if self.priority else "standard"

    @property
    def elapsed_seconds(self) -> float | None:
        if self.queued_at and self.finished_at:
            return (self.finished_at - self.queued_at).total_seconds()
        return None


class GenerationEvent(models.Model):
    """One line of a Generation's append-only log: a state change or a notable step."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state} → {self.to_state}: {self.message}"


class Video(models.Model):
    """One result file of a Generation, copied into our storage and probed.

    ``file`` is the master: the provider's video with the invisible watermark and Content
    Credentials, served only to plans with watermark-free downloads. ``delivery`` adds the
    visible watermark and is what every other plan gets."""

    class Watermark(models.TextChoices):
        VISIBLE = "visible", "Visible + invisible"
        INVISIBLE = "invisible", "Invisible only"
        NONE = "none", "None"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="videos")
    index = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to=_video_path, max_length=300)
    delivery = models.FileField(upload_to=_video_path, max_length=300, blank=True)
    poster = models.FileField(upload_to=_video_path, max_length=300, blank=True)
    # Extra files a provider made beside the video (OpenAI-compatible servers).
    thumbnail = models.FileField(upload_to=_video_path, max_length=300, blank=True)
    spritesheet = models.FileField(upload_to=_video_path, max_length=300, blank=True)
    # The invisible watermark's payload: names this Video in any copy of its files.
    watermark_id = models.PositiveBigIntegerField(unique=True, null=True, blank=True)
    watermark = models.CharField(max_length=16, choices=Watermark.choices, default=Watermark.NONE)
    # The Content Credentials read back from the served file(s) after signing.
    credentials = models.JSONField(default=dict, blank=True)
    codec = models.CharField(max_length=32, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    fps = models.FloatField(default=0)
    duration = models.FloatField(default=0)
    frames = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    probe = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "index"]
        constraints = [
            models.UniqueConstraint(fields=["generation", "index"], name="one_video_per_variation")
        ]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.generation.prompt[:60]} #{self.index + 1}"

    def get_absolute_url(self) -> str:
        return reverse("video_detail", args=[self.id])


class VideoEndpoint(models.Model):
    """An OpenAI-compatible ``/v1/videos`` server (a gateway, a self-hosted server) that
    Studio may generate on. Its provider slug is ``openai-<slug>``."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    base_url = models.URLField(max_length=300, help_text="Up to and including /v1.")
    api_key = models.CharField(max_length=500, blank=True)
    model_ids = models.CharField(
        max_length=500, help_text="Comma-separated model ids, the first is the default."
    )
    sizes = models.CharField(
        max_length=300,
        default="1280x720,720x1280",
        help_text="Comma-separated WIDTHxHEIGHT sizes the server makes.",
    )
    seconds = models.CharField(
        max_length=100, default="4,8,12", help_text="Comma-separated clip lengths in seconds."
    )
    image_input = models.BooleanField(default=True, help_text="Takes a reference image.")
    remix = models.BooleanField(default=False, help_text="Serves POST /videos/{id}/remix.")
    extend = models.BooleanField(default=False, help_text="Serves POST /videos/extensions.")
    webhook_secret = models.CharField(
        max_length=200, blank=True, help_text="Standard Webhooks secret (whsec_...)."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
