"""The api app: on start, it listens for generations that end, to send their webhooks."""

from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from api import webhooks
        from generations.services.transitions import generation_ended

        generation_ended.connect(webhooks.on_generation_ended, dispatch_uid="api-webhooks")
