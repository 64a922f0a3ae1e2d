"""App config for the Runway provider (its account lives in admin)."""

from __future__ import annotations

from django.apps import AppConfig


class RunwayConfig(AppConfig):
    name = "providers.runway"
    label = "runway"
    verbose_name = "Runway"
    default_auto_field = "django.db.models.BigAutoField"
