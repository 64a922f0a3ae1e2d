"""App config for the offline renderer, so that Celery finds its render task."""

from __future__ import annotations

from django.apps import AppConfig


class OfflineConfig(AppConfig):
    name = "providers.offline"
    label = "offline"
    verbose_name = "Offline preview renderer"
