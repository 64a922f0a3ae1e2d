"""URLs of the Replicate provider: its webhook receiver."""

from __future__ import annotations

from django.urls import path

from providers.replicate import webhooks

urlpatterns = [
    path("webhooks/replicate/", webhooks.replicate_webhook, name="replicate_webhook"),
]
