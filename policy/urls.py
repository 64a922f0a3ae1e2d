"""URLs of the creator's notices."""

from __future__ import annotations

from django.urls import path

from policy import views

urlpatterns = [
    path("notices/", views.notice_list, name="notices"),
    path("notices/<int:notice_id>/seen/", views.notice_seen, name="notice_seen"),
]
