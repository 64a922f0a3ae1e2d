"""URLs of the Luma provider: its callback receiver."""

from __future__ import annotations

from django.urls import path

from providers.luma import webhooks

urlpatterns = [
    path("webhooks/luma/<str:token>/", webhooks.luma_callback, name="luma_callback"),
]
