"""App config for the library: new results go to their owner's default folder; a member
who leaves a team takes their videos out of its shared folders."""

from __future__ import annotations

from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from generations.models import Generation
        from library.services import entry_file_new_generation
        from library.team_folders import member_videos_unshare
        from teams.signals import member_left

        post_save.connect(
            entry_file_new_generation, sender=Generation, dispatch_uid="library.default_folder"
        )
        member_left.connect(member_videos_unshare, dispatch_uid="library.member_left")
