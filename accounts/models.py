"""What a creator may do: Plan (limits on settings, priority, concurrent jobs, downloads)
and Account (a creator's plan; its row is also the lock that makes quota counting safe).

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

    class Meta:
        db_table = "generations_account"

    def __str__(self) -> str:
        return f"{self.user} ({self.plan})"
