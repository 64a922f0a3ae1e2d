"""The team pages: my teams, one team (members, roles, its plan), adding and removing
members, changing roles, leaving. Every page of a team answers 404 to anyone not in it.
(The team's jobs are the generations app's page, its shared folders the library's.)"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.http import AuthedRequest
from teams import selectors, services
from teams.forms import MemberAddForm, RoleForm
from teams.models import Membership


@login_required
@require_GET
def team_list(request: AuthedRequest) -> HttpResponse:
    memberships = selectors.memberships_for_user(request.user)
    return render(request, "teams/team_list.html", {"memberships": memberships})


def _page(
    request: AuthedRequest, mine: Membership, add_form: MemberAddForm | None = None
) -> HttpResponse:
    context = {
        "team": mine.team,
        "mine": mine,
        "members": selectors.members_of(mine.team),
        "roles": Membership.Role.choices,
        "add_form": add_form or MemberAddForm(),
    }
    return render(request, "teams/team_detail.html", context)


@login_required
@require_GET
def team_detail(request: AuthedRequest, team_id: int) -> HttpResponse:
    return _page(request, selectors.membership_get(request.user, team_id))


def _say(request: AuthedRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


@login_required
@require_POST
def member_add(request: AuthedRequest, team_id: int) -> HttpResponse:
    mine = selectors.membership_get(request.user, team_id)
    if not mine.can_manage:
        messages.error(request, "Only the team's owners and admins add members.")
        return redirect("team_detail", team_id=mine.team_id)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        who = form.cleaned_data["who"]
        try:
            services.member_add(
                team=mine.team,
                user=who,
                role=form.cleaned_data["role"],
                by=request.user,
                actor=mine,
            )
        except ValidationError as exc:
            _say(request, exc)
        else:
            messages.success(request, f"{who.username} added to {mine.team.name}.")
            return redirect("team_detail", team_id=mine.team_id)
    return _page(request, mine, add_form=form)


@login_required
@require_POST
def member_role(request: AuthedRequest, team_id: int, membership_id: int) -> HttpResponse:
    mine = selectors.membership_get(request.user, team_id)
    target = selectors.team_member_get(mine.team, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a role.")
    else:
        try:
            services.member_role_set(
                membership=target, role=form.cleaned_data["role"], by=request.user, actor=mine
            )
        except ValidationError as exc:
            _say(request, exc)
        else:
            messages.success(request, f"{target.user.username} is now {target.get_role_display()}.")
    return redirect("team_detail", team_id=mine.team_id)


@login_required
@require_POST
def member_remove(request: AuthedRequest, team_id: int, membership_id: int) -> HttpResponse:
    mine = selectors.membership_get(request.user, team_id)
    target = selectors.team_member_get(mine.team, membership_id)
    try:
        services.member_remove(membership=target, by=request.user, actor=mine)
    except ValidationError as exc:
        _say(request, exc)
        return redirect("team_detail", team_id=mine.team_id)
    messages.success(
        request, f"{target.user.username} removed from {mine.team.name}; their videos stay theirs."
    )
    if target.pk == mine.pk:
        return redirect("team_list")
    return redirect("team_detail", team_id=mine.team_id)


@login_required
@require_POST
def team_leave(request: AuthedRequest, team_id: int) -> HttpResponse:
    mine = selectors.membership_get(request.user, team_id)
    try:
        services.member_remove(membership=mine, by=request.user, actor=mine)
    except ValidationError as exc:
        _say(request, exc)
        return redirect("team_detail", team_id=mine.team_id)
    messages.success(request, f"You left {mine.team.name}. Your videos stay in your library.")
    return redirect("team_list")
