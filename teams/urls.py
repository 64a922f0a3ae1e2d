"""URLs of the team pages (the team's jobs and shared folders are under the same /teams/<id>/
prefix, in the generations and library apps)."""

from __future__ import annotations

from django.urls import path

from teams import views

urlpatterns = [
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:team_id>/", views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/members/", views.member_add, name="team_member_add"),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/role/",
        views.member_role,
        name="team_member_role",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="team_member_remove",
    ),
    path("teams/<int:team_id>/leave/", views.team_leave, name="team_leave"),
]
