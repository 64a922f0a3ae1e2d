"""The library's rows: Folder, a creator's Preferences (the default folder for new results),
Entry (a generation's or an upload's place: folder and favourite), Imported (what an archive
import learnt about an upload), ArchiveImport (one uploaded zip on its way through a worker)
and ShareLink (a public, revocable link to one video)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from generations.models import Asset, Generation, Video
from teams.models import Team


class Folder(models.Model):
    """A creator's folder or, with ``team``, one of a team's shared folders (``owner``: the
    member who made it): members put their own videos in it, and every member sees them."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="folders"
    )
    name = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"],
                condition=models.Q(team__isnull=True),
                name="one_folder_name_per_owner",
            ),
            models.UniqueConstraint(
                fields=["team", "name"],
                condition=models.Q(team__isnull=False),
                name="one_folder_name_per_team",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Preferences(models.Model):
    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="library_preferences"
    )
    # New results land here (InvokeAI's auto-add board); empty: in no folder.
    default_folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.SET_NULL)

    def __str__(self) -> str:
        return f"library preferences of {self.owner_id}"


class Entry(models.Model):
    """A card's place in the library: one per generation (all its takes) or per upload.
    Made when first needed; a generation or upload without one is in no folder, unstarred."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    generation = models.OneToOneField(
        Generation, null=True, blank=True, on_delete=models.CASCADE, related_name="library_entry"
    )
    asset = models.OneToOneField(
        Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="library_entry"
    )
    folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries"
    )
    favourite = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(generation__isnull=False, asset__isnull=True)
                | models.Q(generation__isnull=True, asset__isnull=False),
                name="entry_is_a_generation_or_an_asset",
            )
        ]

    def __str__(self) -> str:
        return f"entry {self.generation_id or self.asset_id}"


class Imported(models.Model):
    """An upload that came from an archive, with the Content Credentials it arrived with."""

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="imported")
    archive_name = models.CharField(max_length=255)
    path_in_archive = models.CharField(max_length=500)
    credentials = models.JSONField(default=dict, blank=True)
    # What the manifest says made it ("OpenAI Sora"), empty when it does not say.
    made_with = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.path_in_archive

    @property
    def label(self) -> str:
        if self.made_with:
            return f"Imported: made with {self.made_with}"
        if self.credentials.get("state", "none") == "none":
            return "Imported: no credentials"
        signer = self.credentials.get("signer") or "an unnamed signer"
        return f"Imported: credentials signed by {signer}"


def _archive_path(instance: ArchiveImport, filename: str) -> str:
    return f"imports/{instance.owner_id}/{instance.pk}/archive.zip"


class ArchiveImport(models.Model):
    """A zip the creator uploaded, imported by a worker (``library.tasks.import_archive``).
    The zip is kept in storage only until the worker is done with it; ``report`` then says
    what happened to each file, by its name in the archive."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Refused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    archive_name = models.CharField(max_length=255)
    archive = models.FileField(upload_to=_archive_path, max_length=300, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    # Files looked at so far and in all (members that are not folders or litter).
    done_files = models.PositiveIntegerField(default=0)
    total_files = models.PositiveIntegerField(default=0)
    # {"imported": [name], "duplicates": [name], "refused": [[name, why]]}
    report = models.JSONField(default=dict, blank=True)
    # Why the whole archive was refused (a bomb, not a zip); empty otherwise.
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"])]

    def __str__(self) -> str:
        return f"import of {self.archive_name}"

    @property
    def is_final(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def summary(self) -> str:
        return import_summary(
            len(self.report.get("imported", [])),
            len(self.report.get("duplicates", [])),
            len(self.report.get("refused", [])),
        )


def import_summary(imported: int, duplicates: int, refused: int) -> str:
    """ "3 imported, 1 already in your library, 2 refused." """
    parts = [f"{imported} imported"]
    if duplicates:
        parts.append(f"{duplicates} already in your library")
    if refused:
        parts.append(f"{refused} refused")
    return ", ".join(parts) + "."


class ShareLink(models.Model):
    """A public link to one video. Its URL carries a signed token of ``id`` (random), so it
    cannot be guessed; it stops working when revoked or past ``expires_at``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="share_links")
    show_prompt = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    views = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"share link {self.id}"

    @property
    def is_live(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
