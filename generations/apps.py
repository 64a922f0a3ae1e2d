"""App config for generations: jobs, their pipeline, and the results."""

from __future__ import annotations

from django.apps import AppConfig

from providers.base import job_updated


class GenerationsConfig(AppConfig):
    name = "generations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deferred: the pipeline imports models, which exist only once the apps are loaded.
        from generations.services.pipeline import generation_poll_for_job
        from generations.services.sweep import connect_signals

        job_updated.connect(generation_poll_for_job, dispatch_uid="generations.poll_for_job")
        connect_signals()
