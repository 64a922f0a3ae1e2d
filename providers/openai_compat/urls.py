"""URLs of the OpenAI-compatible provider: its webhook receiver."""

from __future__ import annotations

from django.urls import path

from providers.openai_compat import webhooks

urlpatterns = [
    path("webhooks/openai/<slug:slug>/", webhooks.openai_webhook, name="openai_webhook"),
]
