"""App config for the Luma Dream Machine provider (its account lives in admin)."""

from __future__ import annotations

from django.apps import AppConfig


class LumaConfig(AppConfig):
    name = "providers.luma"
    label = "luma"
    verbose_name = "Luma Dream Machine"
    default_auto_field = "django.db.models.BigAutoField"
