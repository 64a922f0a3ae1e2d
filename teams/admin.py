"""Django admin for teams: operators make a team, pick its plan and edit its members; every
plan and role change goes through the services, so the audit trail records it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest

import audit
from teams.models import Membership, Team
from teams.signals import member_left


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 1
    autocomplete_fields = ("user",)
    fields = ("user", "role", "joined_at")
    readonly_fields = ("joined_at",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ("name", "plan", "members", "created_at")
    list_select_related = ("plan",)
    search_fields = ("name",)
    inlines = (MembershipInline,)

    @admin.display(description="Members")
    def members(self, obj: Team) -> int:
        return obj.memberships.count()

    def save_model(self, request: HttpRequest, obj: Team, form: Any, change: bool) -> None:
        old_plan = Team.objects.filter(pk=obj.pk).values_list("plan__name", flat=True).first()
        super().save_model(request, obj, form, change)
        actor = request.user if isinstance(request.user, User) else None
        if change and old_plan != obj.plan.name:
            audit.record(
                "team.plan_changed", actor=actor, target=obj, old=old_plan, new=obj.plan.name
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        actor = request.user if isinstance(request.user, User) else None
        before = {m.pk: m.role for m in Membership.objects.filter(team=form.instance)}
        super().save_formset(request, form, formset, change)
        for membership in formset.new_objects:
            audit.record(
                "team.member_added",
                actor=actor,
                target=form.instance,
                member=membership.user.username,
                role=membership.role,
            )
        for membership, _ in formset.changed_objects:
            if before.get(membership.pk) != membership.role:
                audit.record(
                    "team.role_changed",
                    actor=actor,
                    target=form.instance,
                    member=membership.user.username,
                    old=before.get(membership.pk),
                    new=membership.role,
                )
        for membership in formset.deleted_objects:
            member_left.send(Team, team_id=form.instance.pk, user_id=membership.user_id)
            audit.record(
                "team.member_removed",
                actor=actor,
                target=form.instance,
                member=membership.user.username,
                role=membership.role,
            )
