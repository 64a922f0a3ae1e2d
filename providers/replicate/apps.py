"""App config for the Replicate provider (its account lives in admin)."""

from __future__ import annotations

from django.apps import AppConfig


class ReplicateConfig(AppConfig):
    name = "providers.replicate"
    label = "replicate"
    verbose_name = "Replicate"
    default_auto_field = "django.db.models.BigAutoField"
