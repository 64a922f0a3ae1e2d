"""Selectors: reads scoped to their owner, so another user's id is a 404, never a leak."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from generations.models import Asset, Generation, Video


def generation_get_for_user(user: Any, generation_id: Any) -> Generation:
    try:
        generation_id = uuid.UUID(str(generation_id))
    except ValueError:
        raise Http404("No such generation.") from None
    return get_object_or_404(
        Generation.objects.select_related("reference", "parent"), pk=generation_id, owner=user
    )


def video_get_for_user(user: Any, video_id: Any) -> Video:
    return get_object_or_404(
        Video.objects.select_related("generation", "generation__reference"),
        pk=video_id,
        owner=user,
    )


def asset_get_for_user(user: Any, asset_id: Any) -> Asset:
    return get_object_or_404(Asset, pk=asset_id, owner=user)


def assets_for_user(user: Any) -> QuerySet[Asset]:
    return Asset.objects.filter(owner=user)


def videos_for_user(user: Any) -> QuerySet[Video]:
    return Video.objects.filter(owner=user, generation__state="succeeded").select_related(
        "generation"
    )


def generations_recent(user: Any, limit: int = 12) -> list[Generation]:
    """The creator's latest jobs (in flight and just ended) for the dashboard's job list."""
    return list(
        Generation.objects.filter(owner=user)
        .prefetch_related("videos")
        .order_by("-created_at")[:limit]
    )
