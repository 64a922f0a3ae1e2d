"""Selectors: reads scoped to their owner, so another user's id is a 404, never a leak; and
the counts a creator's plan is measured by."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Field, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Plan
from accounts.plans import account_get_for_user, month_start
from generations.models import Asset, Generation, Video
from generations.states import FINAL_STATES, State


def generation_group_for_user(user: User, group: uuid.UUID) -> list[Generation]:
    """The user's generations of one Compare, in the order they were made (404: none)."""
    jobs = list(
        Generation.objects.filter(owner=user, compare_group=group)
        .prefetch_related("videos")
        .order_by("created_at", "pk")
    )
    if not jobs:
        raise Http404("No such comparison.")
    return jobs


def generation_get_for_user(user: User, generation_id: object) -> Generation:
    try:
        pk = uuid.UUID(str(generation_id))
    except ValueError:
        raise Http404("No such generation.") from None
    return get_object_or_404(
        Generation.objects.select_related("reference", "parent"), pk=pk, owner=user
    )


# What a job card shows (templates/generations/dashboard.html#job-card): the card is polled
# every second while its job runs, so it reads only these columns, with no joins.
CARD_FIELDS = (
    "id",
    "owner",
    "prompt",
    "resolution",
    "aspect_ratio",
    "seconds",
    "variations",
    "priority",
    "state",
    "progress",
    "admitted_at",
    "error_message",
    "provider_note",  # e.g. "waiting behind the account's concurrency limit"
)


def generation_card_get_for_user(user: User, generation_id: object) -> Generation:
    """The creator's generation with only the job card's columns (one small query; a card
    that shows a finished job's posters reads its videos with a second)."""
    try:
        pk = uuid.UUID(str(generation_id))
    except ValueError:
        raise Http404("No such generation.") from None
    key = Generation._meta.get_field("id").get_db_prep_value(pk, connection)  # hex on SQLite
    found = list(Generation.objects.raw(_card_sql(), [key, user.pk]))
    if not found:
        raise Http404("No such generation.")
    return found[0]


@functools.cache
def _card_sql() -> str:
    """``Generation.objects.only(*CARD_FIELDS).get(pk=, owner=)`` as SQL, written once from
    the model's own table and column names: building that query through the ORM's
    compiler was the largest single cost of a poll (about a third of its CPU)."""
    meta = Generation._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, Field) and field.column, name
        return quote(field.column)

    columns = ", ".join(column(name) for name in CARD_FIELDS)
    pk, owner = column("id"), column("owner")
    return f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {pk} = %s AND {owner} = %s"


def video_get_for_user(user: User, video_id: object) -> Video:
    return get_object_or_404(
        Video.objects.select_related("generation", "generation__reference"),
        pk=video_id,
        owner=user,
    )


def asset_get_for_user(user: User, asset_id: object) -> Asset:
    return get_object_or_404(Asset, pk=asset_id, owner=user)


def asset_list_for_user(user: User) -> QuerySet[Asset]:
    return Asset.objects.filter(owner=user)


def video_list_for_user(user: User) -> QuerySet[Video]:
    """The creator's finished videos, newest first."""
    return Video.objects.filter(owner=user, generation__state=State.SUCCEEDED).select_related(
        "generation"
    )


def generation_list_recent(user: User, limit: int = 12) -> list[Generation]:
    """The creator's latest jobs (in flight and just ended) for the dashboard's job list."""
    return list(
        Generation.objects.filter(owner=user)
        .prefetch_related("videos")
        .order_by("-created_at")[:limit]
    )


def quota_scope(owner_id: int, team_id: int | None = None) -> Q:
    """The jobs one plan's quotas count: a team's jobs (every member's), or a creator's own
    jobs outside any team."""
    if team_id is not None:
        return Q(team_id=team_id)
    return Q(owner_id=owner_id, team__isnull=True)


def generation_count_priority(
    user_id: int, now: datetime | None = None, *, team_id: int | None = None
) -> int:
    """Priority generations this month (the team's, with ``team_id``). Jobs the provider
    failed or refused are not counted: the creator did not get a video for them."""
    return (
        Generation.objects.filter(
            quota_scope(user_id, team_id), priority=True, created_at__gte=month_start(now)
        )
        .exclude(state__in=[State.FAILED, State.REJECTED])
        .count()
    )


def generation_count_since(user_id: int, since: datetime, *, team_id: int | None = None) -> int:
    """Generations the user (the team, with ``team_id``) started since ``since`` (a plan's
    jobs per day). Like priority, jobs the provider failed or refused are not counted."""
    return (
        Generation.objects.filter(quota_scope(user_id, team_id), created_at__gte=since)
        .exclude(state__in=[State.FAILED, State.REJECTED])
        .count()
    )


def generation_running_count(user_id: int, *, team_id: int | None = None) -> int:
    """Jobs holding one of the plan's concurrent-job slots (admitted, not ended)."""
    return (
        Generation.objects.filter(quota_scope(user_id, team_id), admitted_at__isnull=False)
        .exclude(state__in=FINAL_STATES)
        .count()
    )


def generation_list_for_team(team_id: int, limit: int = 100) -> list[Generation]:
    """A team's latest jobs, every member's, for the team's jobs page."""
    return list(
        Generation.objects.filter(team_id=team_id)
        .select_related("owner")
        .only(
            *CARD_FIELDS,
            "owner__username",
            "created_at",
            "provider",
            "model",
            "cost_estimate",
            "cost_actual",
            "cost_currency",
            "team_id",
        )
        .order_by("-created_at")[:limit]
    )


@dataclass(frozen=True)
class Usage:
    """What the dashboard shows of a creator's plan."""

    plan: Plan
    priority_used: int
    running: int

    @property
    def priority_left(self) -> int | None:
        """Priority generations left this month; None when the plan has no limit."""
        limit = self.plan.priority_per_month
        return None if limit is None else max(0, limit - self.priority_used)

    @property
    def has_priority(self) -> bool:
        return self.priority_left is None or self.priority_left > 0


def usage_get_for_user(user: User) -> Usage:
    account = account_get_for_user(user)
    running = generation_running_count(user.pk)
    return Usage(
        plan=account.plan, priority_used=generation_count_priority(user.pk), running=running
    )


@dataclass(frozen=True)
class TeamUsage:
    """What a team's jobs page shows of its plan: every member's team jobs counted."""

    plan: Plan
    today: int
    priority_used: int
    running: int

    @property
    def jobs_left_today(self) -> int | None:
        limit = self.plan.jobs_per_day
        return None if limit is None else max(0, limit - self.today)


def usage_get_for_team(team_id: int, plan: Plan) -> TeamUsage:
    return TeamUsage(
        plan=plan,
        today=generation_count_since(0, timezone.now() - timedelta(days=1), team_id=team_id),
        priority_used=generation_count_priority(0, team_id=team_id),
        running=generation_running_count(0, team_id=team_id),
    )
