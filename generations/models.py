"""The generations domain: Asset (an upload), Generation (one press of Generate) with its
append-only event log, and Video (one result file)."""

from __future__ import annotations

import uuid
import zlib

from django.conf import settings
from django.db import models
from django.urls import reverse

from generations.states import ACTIVE_STATES, State, is_final
from media.frames import frame_size

DEFAULT_FPS = 24


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

    class ReferenceAs(models.TextChoices):
        FRAME = "frame", "First frame"
        SUBJECT = "subject", "Subject to keep"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    # A team job: counted against the team's plan (its quotas and spend), not the owner's.
    # The video stays the owner's, private unless they put it in a team's shared folder.
    team = models.ForeignKey(
        "teams.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="generations"
    )
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
    # The upload (an imported Sora video, say) an edit was made from, when its parent is no
    # generation of ours: its lineage and its Content Credentials' ingredient.
    parent_asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    # The creator's choice to put the prompt itself (not only its hash) in the credentials.
    prompt_in_credentials = models.BooleanField(default=False)
    # Asked for a sound track (only models whose capabilities say ``audio`` make one).
    audio = models.BooleanField(default=False)
    # An image the video ends on, where the model takes one (Veo 3.1).
    last_frame = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Made with others from one prompt on several models at once (Compare): their group.
    compare_group = models.UUIDField(null=True, blank=True, db_index=True)
    # How the reference is used: the first frame, or a subject the video keeps.
    reference_as = models.CharField(
        max_length=8, choices=ReferenceAs.choices, default=ReferenceAs.FRAME
    )

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
    # What the job costs: the estimate made before it was sent (from ModelPrice), and the
    # provider's own reported cost where it gives one (Runway's task cost).
    cost_estimate = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    cost_actual = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    cost_currency = models.CharField(max_length=3, blank=True)
    # What the provider says the job is waiting for (behind the account's concurrency
    # limit, its place in a queue), shown on the job card while it waits.
    provider_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["team", "-created_at"]),
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
    def card_version(self) -> str:
        """A short fingerprint of what the job card shows that can change while it polls
        (state, progress, the waiting hint, the provider's note, the error). The card sends
        it back with each poll; an unchanged card is answered 204 (htmx swaps nothing),
        so most polls render no template. Anything new the card shows must join it, or
        the card would not refresh when that changes."""
        shown = "\x1f".join(
            (
                self.state,
                str(self.progress),
                "1" if self.admitted_at else "0",
                self.provider_note,
                self.error_message,
            )
        )
        return format(zlib.crc32(shown.encode()), "08x")

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
    # When a worker was last asked to make the watermarked copy: one task per video at once.
    delivery_requested_at = models.DateTimeField(null=True, blank=True)

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

    @property
    def has_sound(self) -> bool:
        """Whether the file has a sound track (as probed when it was finished)."""
        return bool((self.probe or {}).get("has_audio"))


class Lineage(models.Model):
    """One parent of a generation: the video (and its generation) it was made from, or the
    upload (``parent_asset``: an imported file) when it was made from one, with the parent's
    role. Edit-prompt, remix and extend have one parent ("source"); blend
    ("first", "second") and stitch ("scene" with a position) have two or more."""

    class Role(models.TextChoices):
        SOURCE = "source", "Source"
        FIRST = "first", "First"
        SECOND = "second", "Second"
        SCENE = "scene", "Scene"

    child = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="lineage")
    parent_generation = models.ForeignKey(
        Generation, null=True, blank=True, on_delete=models.SET_NULL, related_name="used_in"
    )
    parent_video = models.ForeignKey(
        Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="used_in"
    )
    # A parent that is an upload or an imported file rather than a generation's video.
    parent_asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="used_in"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.SOURCE)
    # Where a scene goes in a stitch (0, 1, ...); 0 for the other roles.
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["child", "role", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "role", "position"], name="one_parent_per_role_and_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.position} of {self.child_id}"


class ModelPrice(models.Model):
    """The operator's price for one provider model: per second of output, per video or per
    request. Seeded from the providers' published prices and marked an estimate."""

    class Unit(models.TextChoices):
        SECOND = "second", "per second of video"
        VIDEO = "video", "per video"
        REQUEST = "request", "per request"

    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=128, blank=True)
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.SECOND)
    amount = models.DecimalField(max_digits=10, decimal_places=4)
    currency = models.CharField(max_length=3, default="USD")
    is_estimate = models.BooleanField(
        default=True, help_text="A published list price, not a quote."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider", "model"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "model"], name="unique_model_price")
        ]

    def __str__(self) -> str:
        return (
            f"{self.provider}:{self.model} {self.amount} {self.currency} {self.get_unit_display()}"
        )
