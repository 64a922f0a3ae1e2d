"""App config for the OpenAI-compatible provider (its endpoints live in admin)."""

from __future__ import annotations

from django.apps import AppConfig


class OpenAICompatConfig(AppConfig):
    name = "providers.openai_compat"
    label = "openai_compat"
    verbose_name = "OpenAI-compatible servers"
    default_auto_field = "django.db.models.BigAutoField"
