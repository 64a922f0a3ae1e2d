"""The account fields every hosted provider's admin row has, and the record of each create
sent to a hosted provider (the exactly-once marker)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class HostedAccount(models.Model):
    """One account at a hosted provider, as the operator configured it in admin. The first
    enabled row wins over the environment. Secrets are write-only in admin."""

    name = models.CharField(max_length=100, default="Default")
    enabled = models.BooleanField(default=True)
    api_key = models.CharField(max_length=500, blank=True)
    base_url = models.URLField(
        max_length=300, blank=True, help_text="Leave blank for the provider's own API."
    )
    model_ids = models.CharField(
        max_length=500,
        blank=True,
        help_text="Comma-separated model ids to offer (blank: every model Studio knows).",
    )
    webhook_secret = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SentCreate(models.Model):
    """A create sent to a hosted provider under a key (the generation's idempotency key;
    Runway also keeps a task's chain of remakes under its id). Written and committed before
    the call, so that after an unknown outcome (a timeout, a 5xx, a killed worker) any
    worker, on any machine, can tell "never sent" from "sent, job unknown" from "sent, job
    known", and never sends a second, billed job."""

    provider = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    # What was asked: the fields reconciliation compares with the provider's listed jobs.
    data = models.JSONField(default=dict)
    job_id = models.CharField(max_length=255, blank=True)
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "key"], name="hosted_sent_create_key")
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.key} -> {self.job_id or '?'}"
