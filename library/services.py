"""The library's writes: folders (create, rename, delete), favourites and moves of one or
many cards, deleting cards with their files, the default folder for new results, and share
links (create, revoke). Views, admin and commands call these."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.signing import BadSignature, Signer
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

import audit
from core import storage
from generations import services as generation_services
from generations.models import Asset, Generation, Video
from library.models import ArchiveImport, Entry, Folder, Preferences, ShareLink
from library.team_folders import may_put_in
from policy.review import video_hidden

SHARE_SALT = "library.share"
IMPORTED_FOLDER = "Imported"


# ---- folders ----------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the folder a name."})
    if len(name) > 80:
        raise ValidationError({"name": "Folder names are limited to 80 characters."})
    return name


def folder_create(*, owner: User, name: str) -> Folder:
    """A new folder. Raises ValidationError for an empty, long or already used name."""
    name = _clean_name(name)
    try:
        with transaction.atomic():
            return Folder.objects.create(owner=owner, name=name)
    except IntegrityError:
        raise ValidationError({"name": f"You already have a folder named {name!r}."}) from None


def folder_get_or_create(*, owner: User, name: str) -> Folder:
    folder, _ = Folder.objects.get_or_create(owner=owner, name=name)
    return folder


def folder_rename(*, folder: Folder, name: str) -> Folder:
    name = _clean_name(name)
    if Folder.objects.filter(owner_id=folder.owner_id, name=name).exclude(pk=folder.pk).exists():
        raise ValidationError({"name": f"You already have a folder named {name!r}."})
    folder.name = name
    folder.save(update_fields=["name"])
    return folder


def folder_delete(*, folder: Folder, delete_contents: bool = False) -> int:
    """Delete a folder. Its videos and uploads stay in the library (in no folder) unless
    ``delete_contents``, which the caller sets only after the creator confirmed it; returns
    how many cards were deleted."""
    deleted = 0
    if delete_contents:
        entries = list(folder.entries.select_related("generation", "asset"))
        deleted = cards_delete(
            generations=[e.generation for e in entries if e.generation],
            assets=[e.asset for e in entries if e.asset],
        )
    folder.delete()
    return deleted


def default_folder_set(*, owner: User, folder: Folder | None) -> None:
    Preferences.objects.update_or_create(owner=owner, defaults={"default_folder": folder})


def entry_file_new_generation(
    sender: type[Generation], instance: Generation, created: bool, **kwargs: Any
) -> None:
    """post_save of a Generation: a new one goes to its owner's default folder, if any."""
    if not created or kwargs.get("raw"):
        return
    folder_id = (
        Preferences.objects.filter(owner_id=instance.owner_id)
        .values_list("default_folder_id", flat=True)
        .first()
    )
    if folder_id is not None:
        Entry.objects.get_or_create(
            generation=instance, defaults={"owner_id": instance.owner_id, "folder_id": folder_id}
        )


def archive_file_delete(
    sender: type[ArchiveImport], instance: ArchiveImport, **kwargs: Any
) -> None:
    """post_delete of an ArchiveImport: its stored zip, if a worker has not removed it yet."""
    storage.delete(instance.archive)


# ---- cards: favourite, move, delete ------------------------------------------------------


def _entries(owner: User, generations: Iterable[Generation], assets: Iterable[Asset]) -> None:
    """Make the missing Entry rows of these cards (one query to find, one to insert)."""
    generations, assets = list(generations), list(assets)
    have_g = set(
        Entry.objects.filter(generation__in=generations).values_list("generation_id", flat=True)
    )
    have_a = set(Entry.objects.filter(asset__in=assets).values_list("asset_id", flat=True))
    Entry.objects.bulk_create(
        [Entry(owner=owner, generation=g) for g in generations if g.pk not in have_g]
        + [Entry(owner=owner, asset=a) for a in assets if a.pk not in have_a],
        ignore_conflicts=True,
    )


def _scope(owner: User, generations: Iterable[Generation], assets: Iterable[Asset]) -> Any:
    generations, assets = list(generations), list(assets)
    if any(g.owner_id != owner.pk for g in generations) or any(
        a.owner_id != owner.pk for a in assets
    ):
        raise Http404("No such video.")
    _entries(owner, generations, assets)
    return Entry.objects.filter(owner=owner).filter(
        generation__in=generations
    ) | Entry.objects.filter(owner=owner, asset__in=assets)


def cards_favourite(
    *,
    owner: User,
    favourite: bool,
    generations: Iterable[Generation] = (),
    assets: Iterable[Asset] = (),
) -> int:
    """Star (or unstar) cards; returns how many."""
    return int(_scope(owner, generations, assets).update(favourite=favourite))


def cards_move(
    *,
    owner: User,
    folder: Folder | None,
    generations: Iterable[Generation] = (),
    assets: Iterable[Asset] = (),
) -> int:
    """Put cards in ``folder`` (None: out of any folder; a team's shared folder: shared with
    its members); returns how many."""
    if folder is not None and not may_put_in(owner.pk, folder):
        raise Http404("No such folder.")
    return int(_scope(owner, generations, assets).update(folder=folder))


def cards_delete(*, generations: Iterable[Generation] = (), assets: Iterable[Asset] = ()) -> int:
    """Delete cards: each generation with every take and file, each upload with its files."""
    count = 0
    for generation in generations:
        for video in Video.objects.filter(generation=generation):
            generation_services.video_delete(video=video)
        generation.delete()
        count += 1
    for asset in assets:
        generation_services.asset_delete(asset=asset)
        count += 1
    return count


def entry_favourite_toggle(
    *, owner: User, generation: Generation | None = None, asset: Asset | None = None
) -> bool:
    """Flip one card's star (a generation's or an upload's); returns the new state."""
    card = generation or asset
    if card is None or card.owner_id != owner.pk:
        raise Http404("No such card.")
    if generation is not None:
        entry, _ = Entry.objects.get_or_create(generation=generation, defaults={"owner": owner})
    else:
        entry, _ = Entry.objects.get_or_create(asset=asset, defaults={"owner": owner})
    entry.favourite = not entry.favourite
    entry.save(update_fields=["favourite"])
    return entry.favourite


# ---- share links ---------------------------------------------------------------------------


def share_token(link: ShareLink) -> str:
    return Signer(salt=SHARE_SALT).sign(str(link.pk))


def share_create(
    *, owner: User, video: Video, show_prompt: bool, expires_at: datetime | None
) -> ShareLink:
    """A new public link to ``video`` (the owner's). Raises ValidationError for an expiry in
    the past."""
    if video.owner_id != owner.pk:
        raise Http404("No such video.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Pick an expiry in the future."})
    with transaction.atomic():
        link = ShareLink.objects.create(
            owner=owner, video=video, show_prompt=show_prompt, expires_at=expires_at
        )
        audit.record(
            "share_link.created",
            actor=owner,
            target=link,
            video=str(video.pk),
            show_prompt=show_prompt,
            expires_at=expires_at,
        )
    return link


def share_revoke(*, link: ShareLink, by: User | None = None) -> bool:
    """Stop a link working (``by``: who did, the owner or an operator; recorded in the audit
    trail); False if it already was revoked."""
    with transaction.atomic():
        revoked = bool(
            ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        )
        if revoked:
            audit.record(
                "share_link.revoked",
                actor=by or link.owner,
                target=link,
                video=str(link.video_id),
                owner=link.owner_id,
            )
    return revoked


def share_get_live(token: str) -> ShareLink:
    """The live link a token names. Raises Http404 for a forged, revoked or expired token,
    and for a video an operator hid (from the moment it is hidden)."""
    try:
        link_id = Signer(salt=SHARE_SALT).unsign(token)
        link = ShareLink.objects.select_related("video", "video__generation", "owner").get(
            pk=link_id
        )
    except (BadSignature, ShareLink.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such link.") from None
    if not link.is_live or video_hidden(link.video_id):
        raise Http404("No such link.")
    return link


def share_viewed(*, link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk).update(views=F("views") + 1)
