"""URLs of the generations app: the dashboard, jobs, videos and uploads (the gallery
is the library's)."""

from __future__ import annotations

from django.urls import path

from generations import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("generate/", views.generate, name="generate"),
    path("compare/<uuid:group>/", views.generation_compare, name="generation_compare"),
    path("generations/<uuid:generation_id>/", views.generation_detail, name="generation_detail"),
    path("generations/<uuid:generation_id>/card/", views.generation_card, name="generation_card"),
    path(
        "generations/<uuid:generation_id>/cancel/",
        views.generation_cancel,
        name="generation_cancel",
    ),
    path("videos/<uuid:video_id>/", views.video_detail, name="video_detail"),
    path("videos/<uuid:video_id>/delete/", views.video_delete, name="video_delete"),
    path("videos/<uuid:video_id>/derive/", views.video_derive, name="video_derive"),
    path("teams/<int:team_id>/jobs/", views.team_jobs, name="team_jobs"),
    path("assets/", views.asset_upload, name="asset_upload"),
    path("assets/<uuid:asset_id>/thumbnail/", views.asset_thumbnail, name="asset_thumbnail"),
    path("assets/<uuid:asset_id>/delete/", views.asset_delete, name="asset_delete"),
]
