"""The Google Cloud project an operator configured in admin for Veo on Vertex AI."""

from __future__ import annotations

from django.db import models

from providers.hosted.models import HostedAccount


class VeoAccount(HostedAccount):
    """A Vertex AI project, location and service-account key file. The API key field is
    unused (Vertex takes service-account credentials); ``retry_attempts`` opts in to the
    SDK's retries of polls (never of the create)."""

    project = models.CharField(max_length=100)
    location = models.CharField(max_length=50, default="us-central1")
    credentials_file = models.CharField(
        max_length=500, help_text="Path to the service account's JSON key on the server."
    )
    output_gcs_uri = models.CharField(
        max_length=500,
        blank=True,
        help_text="A gs:// folder Veo writes its videos to (blank: they come back inline).",
    )
    retry_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts per poll with the SDK's backoff (0: no SDK retries)."
    )

    class Meta(HostedAccount.Meta):
        verbose_name = "Veo account"
