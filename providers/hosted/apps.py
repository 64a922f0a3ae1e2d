"""App config for the code the hosted providers share (the record of sent creates)."""

from __future__ import annotations

from django.apps import AppConfig


class HostedConfig(AppConfig):
    name = "providers.hosted"
    label = "hosted"
    verbose_name = "Hosted video providers"
    default_auto_field = "django.db.models.BigAutoField"
