"""App config for the library: new results go to their owner's default folder."""

from __future__ import annotations

from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from generations.models import Generation
        from library.services import entry_file_new_generation

        post_save.connect(
            entry_file_new_generation, sender=Generation, dispatch_uid="library.default_folder"
        )
