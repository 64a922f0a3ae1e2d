"""App config for the Google Veo provider (its account lives in admin)."""

from __future__ import annotations

from django.apps import AppConfig


class VeoConfig(AppConfig):
    name = "providers.veo"
    label = "veo"
    verbose_name = "Google Veo (Vertex AI)"
    default_auto_field = "django.db.models.BigAutoField"
