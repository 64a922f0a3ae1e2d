"""Teams' shared folders: reads and writes. A member (not a viewer) makes a shared folder
and moves their own videos into it; every member of the team sees what is in it (but not
a video an operator hid). A video not in a shared folder stays its creator's alone; when
a member leaves, their videos leave the team's folders (they are never deleted)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import Http404

import audit
from generations.models import Generation, Video
from generations.states import State
from library.models import Entry, Folder
from policy.review import hidden_among
from teams.models import Membership, Team


def team_folders(team: Team) -> list[Folder]:
    return list(Folder.objects.filter(team=team).select_related("owner"))


def team_folder_get(team: Team, folder_id: object) -> Folder:
    try:
        return Folder.objects.select_related("owner").get(pk=int(str(folder_id)), team=team)
    except (Folder.DoesNotExist, ValueError):
        raise Http404("No such folder.") from None


def folders_to_share_into(user: User) -> list[Folder]:
    """The shared folders ``user`` may put videos in (teams where they are not a viewer)."""
    teams = Membership.objects.filter(user=user).exclude(role=Membership.Role.VIEWER)
    return list(Folder.objects.filter(team__in=teams.values("team_id")).select_related("team"))


def may_put_in(user_id: int, folder: Folder) -> bool:
    """Whether ``user_id`` may move their own cards into ``folder``."""
    if folder.team_id is None:
        return folder.owner_id == user_id
    return (
        Membership.objects.filter(team_id=folder.team_id, user_id=user_id)
        .exclude(role=Membership.Role.VIEWER)
        .exists()
    )


def folder_generations(folder: Folder) -> list[tuple[Generation, list[Video]]]:
    """The finished generations in a shared folder with their videos, hidden ones left out
    (a generation whose every video is hidden is left out too)."""
    generations = list(
        Generation.objects.filter(library_entry__folder=folder, state=State.SUCCEEDED)
        .select_related("owner")
        .prefetch_related(Prefetch("videos", queryset=Video.objects.order_by("index")))
        .order_by("-created_at")[:200]
    )
    hidden = hidden_among(v.pk for g in generations for v in g.videos.all())
    cards = []
    for generation in generations:
        videos = [v for v in generation.videos.all() if v.pk not in hidden]
        if videos:
            cards.append((generation, videos))
    return cards


def shared_video_get(team: Team, video_id: UUID | str) -> Video:
    """A video that is in one of ``team``'s shared folders and not hidden. Raises Http404."""
    video = (
        Video.objects.select_related("generation", "owner")
        .filter(pk=video_id, generation__library_entry__folder__team=team)
        .first()
    )
    if video is None or hidden_among([video.pk]):
        raise Http404("No such video.")
    return video


def team_folder_create(*, team: Team, by: Membership, name: str) -> Folder:
    """A new shared folder. Raises ValidationError for a viewer, or an empty or used name."""
    if not by.can_generate:
        raise ValidationError({"name": "Viewers cannot make shared folders."})
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise ValidationError({"name": "Give the folder a name of up to 80 characters."})
    try:
        with transaction.atomic():
            folder = Folder.objects.create(owner_id=by.user_id, team=team, name=name)
    except IntegrityError:
        raise ValidationError(
            {"name": f"{team.name} already has a folder named {name!r}."}
        ) from None
    audit.record("team.folder_created", actor=by.user, target=team, folder=name)
    return folder


def team_folder_delete(*, folder: Folder, by: Membership) -> None:
    """Delete a shared folder (its maker, or an owner or admin): the videos in it go back to
    their creators' libraries, in no folder. Raises ValidationError for anyone else."""
    if folder.owner_id != by.user_id and not by.can_manage:
        raise ValidationError({"folder": "Only the folder's maker or an admin deletes it."})
    name = folder.name
    folder.delete()
    audit.record("team.folder_deleted", actor=by.user, target=by.team, folder=name)


def member_videos_unshare(sender: Any, *, team_id: int, user_id: int, **_: Any) -> None:
    """teams.signals.member_left: the member's cards leave the team's folders (private
    again, in no folder); nothing is deleted."""
    Entry.objects.filter(owner_id=user_id, folder__team_id=team_id).update(folder=None)
