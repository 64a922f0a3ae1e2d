"""What a creator may do: Plan (limits on settings, priority, concurrent jobs, jobs per day,
downloads) and Account (a creator's plan and standing: waiting, approved or refused, e-mail
confirmed, on probation; its row is also the lock that makes quota counting safe); how
people join: SignupSettings (the operator's sign-up mode) and Invitation.

The tables keep the names they had in the generations app (``generations_plan``,
``generations_account``): moving the models moved no rows."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from media.frames import RESOLUTIONS


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
    jobs_per_day = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Generations a creator may start in 24 hours; empty = unlimited.",
    )
    api_requests_per_minute = models.PositiveIntegerField(
        default=600, help_text="Requests per minute each API key may make."
    )
    api_creates_per_minute = models.PositiveIntegerField(
        default=20, help_text="Videos per minute each API key may create."
    )
    is_default = models.BooleanField(default=False, help_text="The plan new sign-ups get.")
    monthly_spend_cap = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Most a creator may spend at the providers per calendar month (in USD, "
        "estimated before each job); empty = no cap.",
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "generations_plan"
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

    class Standing(models.TextChoices):
        ACTIVE = "active", "Active"
        WAITING = "waiting", "On the waitlist"
        REFUSED = "refused", "Sign-up refused"

    standing = models.CharField(
        max_length=10, choices=Standing.choices, default=Standing.ACTIVE, db_index=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    needs_email_verification = models.BooleanField(default=False)
    # Probation: the account is on ``plan`` until ``probation_until``, then on this one.
    plan_after_probation = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    probation_until = models.DateTimeField(null=True, blank=True)
    # Generation suspended (by an operator, or by repeated policy refusals) until reviewed.
    suspended_at = models.DateTimeField(null=True, blank=True, db_index=True)
    suspended_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "generations_account"

    def __str__(self) -> str:
        return f"{self.user} ({self.plan})"


class SignupSettings(models.Model):
    """How people join this studio (one row, edited in admin): open, by invitation, or
    through a waitlist an operator approves; a probation plan for new accounts; e-mail
    verification."""

    class Mode(models.TextChoices):
        OPEN = "open", "Open: anyone can sign up"
        INVITE = "invite", "Invite-only: sign-up needs an invitation link"
        WAITLIST = "waitlist", "Waitlist: sign-ups wait for an operator's approval"

    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.OPEN)
    creators_may_invite = models.BooleanField(
        default=False, help_text="Creators may send invitations too (invite-only mode)."
    )
    invitation_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days an invitation link stays valid."
    )
    verify_email = models.BooleanField(
        default=False,
        help_text="New creators must confirm their e-mail address before they can generate.",
    )
    probation_plan = models.ForeignKey(
        Plan,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The plan new accounts start on; empty = they start on the default plan.",
    )
    probation_days = models.PositiveSmallIntegerField(
        default=0, help_text="Days on the probation plan before the default plan applies."
    )

    class Meta:
        verbose_name = "sign-up settings"
        verbose_name_plural = "sign-up settings"

    def __str__(self) -> str:
        return "Sign-up settings"

    @classmethod
    def load(cls) -> SignupSettings:
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row


class Invitation(models.Model):
    """An e-mailed link that lets one person sign up; valid until it expires or is used.

    Only the token's SHA-256 is stored: the link itself exists only in the e-mail."""

    email = models.EmailField()
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitation",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"
