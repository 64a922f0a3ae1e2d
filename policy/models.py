"""The operator's content policy: PolicySettings (one row: the moderation endpoint, its
outage fallback, the face check, when repeated refusals suspend an account, how many
reports a person may send), Rule (blocked words, phrases or regular expressions, for every
language or one), CategoryThreshold (per moderation category), Refusal (the log of every
refusal, with its stage and rule); and the review side: ReviewItem (a report of a shared
video, or an automatic flag, in the operators' queue), HiddenVideo (a video an operator
took down) and Notice (what the creator is told in the app).

Reviews point at generations' Video and the accounts' users by name only (no import): the
policy sits below generations in the layers, and generations calls it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# The categories an OpenAI-compatible /v1/moderations endpoint scores.
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


class PolicySettings(models.Model):
    """One row: how prompts are moderated beyond the rules, and whether faces are refused."""

    class Outage(models.TextChoices):
        ALLOW = "allow", "Allow the prompt (the rules still apply)"
        REFUSE = "refuse", "Refuse the prompt: “try again later”"

    moderation_url = models.URLField(
        blank=True,
        help_text="Base URL of an OpenAI-compatible API with /v1/moderations "
        "(e.g. https://api.openai.com/v1); empty = no moderation endpoint. "
        "Its key comes from STUDIO_MODERATION_API_KEY.",
    )
    moderation_model = models.CharField(max_length=100, default="omni-moderation-latest")
    moderation_timeout = models.FloatField(
        default=5.0, help_text="Seconds to wait for the endpoint before it counts as down."
    )
    on_outage = models.CharField(
        max_length=10,
        choices=Outage.choices,
        default=Outage.REFUSE,
        help_text="What happens to a prompt while the endpoint cannot be reached.",
    )
    refuse_faces = models.BooleanField(
        default=False,
        help_text="Refuse uploads and references that show a human face (OpenCV's face "
        "detector; a video is checked on its first frame).",
    )
    face_reason = models.CharField(
        max_length=200, default="Images of real people's faces are not allowed here."
    )
    refusals_before_suspension = models.PositiveSmallIntegerField(
        default=0,
        help_text="Suspend generation for an account refused more than this many times within "
        "the window below, until an operator reviews it; 0 = never.",
    )
    refusal_window_minutes = models.PositiveIntegerField(
        default=60, help_text="The window the refusals above are counted in."
    )
    reports_per_hour = models.PositiveSmallIntegerField(
        default=5, help_text="Reports one person (or one address) may send in an hour."
    )

    class Meta:
        verbose_name = "policy settings"
        verbose_name_plural = "policy settings"

    def __str__(self) -> str:
        return "Policy settings"

    @classmethod
    def load(cls) -> PolicySettings:
        row, _ = cls.objects.get_or_create(pk=1)
        return row


class Rule(models.Model):
    """Blocked words / phrases (matched as whole words, case-insensitively) or regular
    expressions. The creator sees only ``public_reason``, never the rule."""

    class Kind(models.TextChoices):
        WORDS = "words", "Words and phrases (whole words, any case)"
        REGEX = "regex", "Regular expressions (case-insensitive)"

    name = models.CharField(max_length=100, help_text="For operators only.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORDS)
    patterns = models.TextField(help_text="One word, phrase or expression per line.")
    language = models.CharField(
        max_length=10,
        blank=True,
        help_text="Language code of this list (en, de, ja, ...); empty = any. Lists for "
        "languages written without spaces (zh, ja, th, lo, km, my) match inside text.",
    )
    public_reason = models.CharField(
        max_length=200,
        default="This prompt is not allowed by the studio's content policy.",
        help_text="What the creator is told.",
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language", "name"]

    def __str__(self) -> str:
        return self.name


class CategoryThreshold(models.Model):
    """A moderation category refuses a prompt whose score reaches ``threshold``."""

    settings = models.ForeignKey(
        PolicySettings, on_delete=models.CASCADE, related_name="thresholds"
    )
    category = models.CharField(max_length=40, choices=[(c, c) for c in MODERATION_CATEGORIES])
    threshold = models.FloatField(help_text="0–1: a score at or above this refuses.")
    public_reason = models.CharField(
        max_length=200, default="This prompt is not allowed by the studio's content policy."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["settings", "category"], name="one_threshold_per_category"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} ≥ {self.threshold}"


class Refusal(models.Model):
    """One refused prompt, upload or reference: where (stage), why (rule, for operators;
    reason, as the creator saw it) and for whom."""

    class Stage(models.TextChoices):
        PROMPT = "prompt", "Prompt"
        UPLOAD = "upload", "Upload"
        REFERENCE = "reference", "Reference"
        OUTPUT = "output", "Output"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="policy_refusals",
    )
    stage = models.CharField(max_length=10, choices=Stage.choices)
    rule = models.CharField(max_length=200, help_text="Which rule fired (operators only).")
    reason = models.CharField(max_length=200, help_text="What the creator was told.")
    excerpt = models.TextField(blank=True, help_text="The prompt, or the upload's name.")

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.stage}: {self.rule}"


class ReviewItem(models.Model):
    """One thing in the operators' review queue: a report of a shared video (by a member of
    the team it is shared with, or anyone with its share link), or an automatic flag (an
    account suspended after repeated refusals)."""

    class Kind(models.TextChoices):
        REPORT = "report", "Report"
        FLAG = "flag", "Automatic flag"

    class Reason(models.TextChoices):
        SEXUAL = "sexual", "Sexual content"
        VIOLENCE = "violence", "Violence or gore"
        HATE = "hate", "Hate or harassment"
        SELF_HARM = "self-harm", "Self-harm"
        REAL_PERSON = "real-person", "Shows a real person without consent"
        ILLEGAL = "illegal", "Illegal content"
        SPAM = "spam", "Spam or misleading"
        OTHER = "other", "Something else"
        REFUSALS = "refusals", "Repeated policy refusals"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        HIDDEN = "hidden", "Video hidden"
        RESTORED = "restored", "Video restored"
        SUSPENDED = "suspended", "Creator suspended"
        REINSTATED = "reinstated", "Creator reinstated"
        DISMISSED = "dismissed", "Dismissed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    text = models.TextField(blank=True, max_length=2000)
    video = models.ForeignKey(
        "generations.Video",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="review_items",
    )
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews_about"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_sent",
    )
    reporter_ip = models.GenericIPAddressField(null=True, blank=True)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.OPEN, db_index=True
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "review item"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_reason_display()}"


class HiddenVideo(models.Model):
    """A video an operator hid: its share links answer 404 and it leaves the team folders
    it was shared in, until restored (the row is deleted then)."""

    video = models.OneToOneField("generations.Video", on_delete=models.CASCADE, related_name="+")
    hidden_at = models.DateTimeField(auto_now_add=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"hidden video {self.video_id}"


class Notice(models.Model):
    """Something the studio tells one creator in the app (a video hidden or restored,
    generation suspended or reinstated); shown on every page until they dismiss it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text[:60]
