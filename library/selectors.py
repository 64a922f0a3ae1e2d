"""The library's reads: the grid of generation cards and of uploads, narrowed by search and
filters, one page at a time with no COUNT (limit + 1 says whether there is an older page);
folders, share links and lineage, all scoped to their owner.

Prompt search is PostgreSQL full-text (``to_tsvector('english', prompt)``, GIN-indexed by
migration library 0002) when the database is PostgreSQL, else every word ``icontains``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Exists, F, OrderBy, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from generations.models import Asset, Generation, Lineage, Video
from generations.states import State
from library.models import ArchiveImport, Folder, ShareLink
from library.team_folders import may_put_in

SEARCH_CONFIG = "english"


def prompt_vector() -> SearchVector:
    """The expression the GIN index is built on; queries must use the very same one."""
    return SearchVector("prompt", config=SEARCH_CONFIG)


def _search(qs: QuerySet[Any], words: str, column: str = "prompt") -> QuerySet[Any]:
    if connection.vendor == "postgresql" and column == "prompt":
        query = SearchQuery(words, config=SEARCH_CONFIG, search_type="websearch")
        searched: QuerySet[Any] = qs.alias(prompt_search=prompt_vector()).filter(
            prompt_search=query
        )
        return searched
    for word in words.split():
        qs = qs.filter(**{f"{column}__icontains": word})
    return qs


def _day_start(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _day_end(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.max))


def _videos(**lookups: Any) -> Exists:
    return Exists(Video.objects.filter(generation=OuterRef("pk"), **lookups))


# Each filter: its key, what the creator is told when it empties the grid, and how it
# narrows the generations. Applied in this order.
Apply = Callable[[QuerySet[Generation], Any], QuerySet[Generation]]
_CREDENTIAL_STATES = {"valid", "invalid", "none"}
GENERATION_FILTERS: list[tuple[str, str, Apply]] = [
    ("q", "No videos match these prompt words.", lambda qs, v: _search(qs, v)),
    ("provider", "No videos from this provider.", lambda qs, v: qs.filter(provider=v)),
    ("model", "No videos from this model.", lambda qs, v: qs.filter(model=v)),
    ("resolution", "No videos at this resolution.", lambda qs, v: qs.filter(resolution=v)),
    ("aspect_ratio", "No videos in this aspect ratio.", lambda qs, v: qs.filter(aspect_ratio=v)),
    ("min_seconds", "No videos this long.", lambda qs, v: qs.filter(seconds__gte=v)),
    ("max_seconds", "No videos this short.", lambda qs, v: qs.filter(seconds__lte=v)),
    ("since", "No videos since this date.", lambda qs, v: qs.filter(created_at__gte=_day_start(v))),
    ("until", "No videos before this date.", lambda qs, v: qs.filter(created_at__lte=_day_end(v))),
    (
        "credentials",
        "No videos with Content Credentials in this state.",
        lambda qs, v: (
            qs.filter(_videos(credentials__master__state=v))
            if v != "none"
            else qs.exclude(_videos(credentials__master__state__in=["valid", "invalid"]))
        ),
    ),
    (
        "watermark",
        "No videos with this watermark state.",
        lambda qs, v: qs.filter(_videos(watermark=v)),
    ),
    (
        "reference",
        "No videos with this reference setting.",
        lambda qs, v: qs.filter(reference__isnull=v != "yes"),
    ),
    (
        "favourites",
        "No favourites here yet: star a video to add it.",
        lambda qs, v: qs.filter(library_entry__favourite=True),
    ),
    ("folder", "This folder is empty.", lambda qs, v: qs.filter(library_entry__folder_id=v)),
]


def _uploads_kind(qs: QuerySet[Asset], kind: str) -> QuerySet[Asset]:
    imported = Q(imported__isnull=False)
    return qs.filter(imported) if kind == "imported" else qs.exclude(imported)


AssetApply = Callable[[QuerySet[Asset], Any], QuerySet[Asset]]
ASSET_FILTERS: list[tuple[str, str, AssetApply]] = [
    (
        "q",
        "No uploads with these words in their name.",
        lambda qs, v: _search(qs, v, "original_name"),
    ),
    ("kind", "No uploads of this kind.", _uploads_kind),
    (
        "favourites",
        "No favourites here yet: star an upload to add it.",
        lambda qs, v: qs.filter(library_entry__favourite=True),
    ),
    ("folder", "This folder is empty.", lambda qs, v: qs.filter(library_entry__folder_id=v)),
]


@dataclass
class Page:
    """One page of cards: ``has_older`` from fetching one more than fits (no COUNT)."""

    cards: list[Any]
    number: int
    has_older: bool
    empty_because: str = ""
    filters: dict[str, Any] = field(default_factory=dict)

    @property
    def has_newer(self) -> bool:
        return self.number > 1


def _page(
    qs: QuerySet[Any],
    filters: list[tuple[str, str, Any]],
    values: dict[str, Any],
    order: list[str],
) -> Page:
    size = settings.STUDIO_GALLERY_PAGE_SIZE
    number = int(values.get("page") or 1)
    narrowed = qs
    applied: list[tuple[str, QuerySet[Any]]] = []
    for key, message, apply in filters:
        if key in values:
            narrowed = apply(narrowed, values[key])
            applied.append((message, narrowed))
    start = (number - 1) * size
    cards = list(narrowed.order_by(*order)[start : start + size + 1])
    page = Page(cards=cards[:size], number=number, has_older=len(cards) > size, filters=values)
    if not cards and number == 1 and applied:
        # Which filter emptied it: the first one after which nothing is left.
        for message, after in applied:
            if not after.exists():
                page.empty_because = message
                break
    return page


GENERATION_ORDER = {
    "newest": ["-created_at", "-id"],
    "oldest": ["created_at", "id"],
    "longest": ["-seconds", "-created_at", "-id"],
}


def library_page(user: User, values: dict[str, Any]) -> Page:
    """A page of the creator's finished generations (one card each, takes in index order,
    with their library entry), narrowed by ``values`` (FilterForm.values())."""
    qs = (
        Generation.objects.filter(owner=user, state=State.SUCCEEDED)
        .filter(_videos())
        .select_related("library_entry", "library_entry__folder")
        .prefetch_related(Prefetch("videos", queryset=Video.objects.order_by("index")))
    )
    order: list[Any] = GENERATION_ORDER.get(
        values.get("sort", "newest"), GENERATION_ORDER["newest"]
    )
    if "q" in values and connection.vendor == "postgresql":
        # Sorting on an expression no index provides steers PostgreSQL to find the matches
        # through the GIN index and sort only those, instead of walking the newest-first
        # index and computing to_tsvector for every row it passes (which grows with the
        # library, and for a rare word reads all of it).
        order = [
            OrderBy(Coalesce(F(name.lstrip("-")), F(name.lstrip("-"))), descending=name[0] == "-")
            for name in order
        ]
    return _page(qs, GENERATION_FILTERS, values, order)


def uploads_page(user: User, values: dict[str, Any]) -> Page:
    """A page of the creator's uploads and imports, narrowed by ``values``."""
    qs = (
        Asset.objects.filter(owner=user)
        .select_related("library_entry", "library_entry__folder", "imported")
        .prefetch_related(
            Prefetch(
                "used_in",
                queryset=Lineage.objects.filter(child__owner=user)
                .select_related("child")
                .order_by("child__created_at"),
            )
        )
    )
    order = {"oldest": ["created_at", "id"], "longest": ["-duration", "-created_at"]}.get(
        values.get("sort", "newest"), ["-created_at", "id"]
    )
    return _page(qs, ASSET_FILTERS, values, order)


def folder_list_for_user(user: User) -> list[Folder]:
    """The creator's own folders (not the teams' shared folders they made)."""
    return list(Folder.objects.filter(owner=user, team__isnull=True))


def folder_get_for_user(user: User, folder_id: object) -> Folder:
    return get_object_or_404(Folder, pk=folder_id, owner=user, team__isnull=True)


def folder_get_for_move(user: User, folder_id: object) -> Folder:
    """A folder ``user`` may move their cards into: their own, or a shared folder of a team
    where they are not a viewer. Raises Http404 otherwise."""
    try:
        folder = Folder.objects.get(pk=int(str(folder_id)))
    except (Folder.DoesNotExist, ValueError):
        raise Http404("No such folder.") from None
    if not may_put_in(user.pk, folder):
        raise Http404("No such folder.")
    return folder


def folder_named(user: User, name: str) -> Folder | None:
    return Folder.objects.filter(owner=user, name=name, team__isnull=True).first()


def import_list_recent(user: User, limit: int = 3) -> list[ArchiveImport]:
    """The creator's latest archive imports, newest first."""
    return list(ArchiveImport.objects.filter(owner=user)[:limit])


def import_get_for_user(user: User, import_id: object) -> ArchiveImport:
    return get_object_or_404(ArchiveImport, pk=import_id, owner=user)


def share_list_for_user(user: User) -> QuerySet[ShareLink]:
    return ShareLink.objects.filter(owner=user).select_related("video", "video__generation")


def share_get_for_user(user: User, link_id: object) -> ShareLink:
    return get_object_or_404(ShareLink, pk=link_id, owner=user)


def generations_for_user(user: User, ids: list[str]) -> list[Generation]:
    """The creator's generations among ``ids`` (others' and unknown ids are left out)."""
    return list(Generation.objects.filter(owner=user, pk__in=_uuids(ids)))


def assets_for_user(user: User, ids: list[str]) -> list[Asset]:
    return list(Asset.objects.filter(owner=user, pk__in=_uuids(ids)))


def _uuids(ids: list[str]) -> list[str]:
    good = []
    for raw in ids:
        try:
            good.append(str(uuid.UUID(raw)))
        except ValueError:
            continue
    return good


@dataclass(frozen=True)
class LineageView:
    made_from: list[Lineage]
    used_in: list[Lineage]


def lineage_for(generation: Generation) -> LineageView:
    """What ``generation`` was made from and what was made from it (the owner's only)."""
    made_from = list(
        Lineage.objects.filter(child=generation)
        .filter(
            Q(parent_generation__owner_id=generation.owner_id)
            | Q(parent_asset__owner_id=generation.owner_id)
        )
        .select_related("parent_generation", "parent_video", "parent_asset__imported")
    )
    used_in = list(
        Lineage.objects.filter(parent_generation=generation, child__owner_id=generation.owner_id)
        .select_related("child")
        .order_by("child__created_at")
    )
    return LineageView(made_from=made_from, used_in=used_in)


def remix_tree(
    generation: Generation, depth: int = 30
) -> tuple[Generation, dict[Any, list[Generation]]]:
    """The root ancestor of ``generation`` and, per generation id, its children, level by
    level (one query per level, at most ``depth`` levels each way)."""
    root = generation
    for _ in range(depth):
        up = (
            Lineage.objects.filter(child=root, parent_generation__owner_id=root.owner_id)
            .select_related("parent_generation")
            .first()
        )
        if up is None or up.parent_generation is None:
            break
        root = up.parent_generation
    children: dict[Any, list[Generation]] = {}
    level = [root.pk]
    seen = {root.pk}
    for _ in range(depth):
        rows = (
            Lineage.objects.filter(parent_generation_id__in=level, child__owner_id=root.owner_id)
            .select_related("child")
            .order_by("child__created_at")
        )
        level = []
        for row in rows:
            if row.child_id in seen:
                continue
            seen.add(row.child_id)
            children.setdefault(row.parent_generation_id, []).append(row.child)
            level.append(row.child_id)
        if not level:
            break
    return root, children
