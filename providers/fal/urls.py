"""URLs of the fal provider: its webhook receiver."""

from __future__ import annotations

from django.urls import path

from providers.fal import webhooks

urlpatterns = [
    path("webhooks/fal/<str:token>/<str:alias>/", webhooks.fal_webhook, name="fal_webhook"),
]
