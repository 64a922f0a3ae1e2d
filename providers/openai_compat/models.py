"""The OpenAI-compatible servers an operator configured in admin (the table keeps the name
it had in the generations app, ``generations_videoendpoint``: moving it moved no rows), and
the record of each create sent to one, kept where every worker on every machine sees it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
        db_table = "generations_videoendpoint"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SentCreate(models.Model):
    """A create (or remix / extension) sent to a server under an idempotency key. Written
    and committed before the call, so that after an unknown outcome (a timeout, a 5xx, a
    killed worker) any worker can tell "never sent" from "sent, job unknown" from "sent,
    job known" and never sends a second, billed job."""

    key = models.CharField(max_length=64, primary_key=True)
    provider = models.CharField(max_length=100)
    # What was asked (operation, prompt, model, size, seconds, source, sent_at): the fields
    # reconciliation compares with the server's listed jobs.
    request = models.JSONField()
    job_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "sent create"

    def __str__(self) -> str:
        return f"{self.provider} {self.key} -> {self.job_id or '?'}"
