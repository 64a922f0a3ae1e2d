"""URLs of delivery: video files and posters, the staff poster, Verify."""

from __future__ import annotations

from django.urls import path

from delivery import views

urlpatterns = [
    path("videos/<uuid:video_id>/file/", views.video_file, name="video_file"),
    path("videos/<uuid:video_id>/poster/", views.video_poster, name="video_poster"),
    path(
        "staff/videos/<uuid:video_id>/poster/", views.admin_video_poster, name="admin_video_poster"
    ),
    path("verify/", views.verify, name="verify"),
]
