"""App config for the library: new results go to their owner's default folder; an archive
import deleted before a worker got to it (its owner deleted, say) takes its stored zip along;
a member who leaves a team takes their videos out of its shared folders."""

from __future__ import annotations

from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from generations.models import Generation
        from library.models import ArchiveImport
        from library.services import archive_file_delete, entry_file_new_generation
        from library.team_folders import member_videos_unshare
        from teams.signals import member_left

        post_save.connect(
            entry_file_new_generation, sender=Generation, dispatch_uid="library.default_folder"
        )
        post_delete.connect(
            archive_file_delete, sender=ArchiveImport, dispatch_uid="library.archive_file"
        )
        member_left.connect(member_videos_unshare, dispatch_uid="library.member_left")
