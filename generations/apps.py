"""App config for generations: jobs, their pipeline, and the results."""

from __future__ import annotations

from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Apps are loaded now: the pipeline (and its models) can be imported.
        from generations.services.pipeline import generation_poll_for_job
        from providers.base import job_updated

        job_updated.connect(generation_poll_for_job, dispatch_uid="generations.poll_for_job")
