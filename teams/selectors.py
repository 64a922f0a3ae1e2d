"""Teams' reads, scoped to their members: a team or a membership someone is not part of is
a 404, never a leak."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404

from teams.models import Membership, Team


def membership_get(user: User, team_id: object) -> Membership:
    """``user``'s membership of the team. Raises Http404 when they are not a member (or the
    id is not a team's)."""
    try:
        pk = int(str(team_id))
    except ValueError:
        raise Http404("No such team.") from None
    membership = (
        Membership.objects.select_related("team", "team__plan")
        .filter(team_id=pk, user=user)
        .first()
    )
    if membership is None:
        raise Http404("No such team.")
    return membership


def team_member_get(team: Team, membership_id: object) -> Membership:
    """A membership of ``team`` by its id (the caller has checked the viewer belongs)."""
    try:
        return Membership.objects.select_related("user").get(pk=int(str(membership_id)), team=team)
    except (Membership.DoesNotExist, ValueError):
        raise Http404("No such member.") from None


def memberships_for_user(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("team", "team__plan")


def members_of(team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user").order_by("user__username")
