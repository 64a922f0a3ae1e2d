"""App config for the fal.ai provider (its account lives in admin)."""

from __future__ import annotations

from django.apps import AppConfig


class FalConfig(AppConfig):
    name = "providers.fal"
    label = "fal"
    verbose_name = "fal.ai"
    default_auto_field = "django.db.models.BigAutoField"
