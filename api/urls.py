"""URLs of the api app: the /v1/ protocol, and the Settings pages for keys and webhooks."""

from __future__ import annotations

from django.urls import path, re_path

from api import pages, views

urlpatterns = [
    path("v1/openapi.json", views.openapi, name="api_openapi"),
    path("v1/videos", views.videos, name="api_videos"),
    path("v1/videos/extensions", views.video_extensions, name="api_video_extensions"),
    path("v1/videos/edits", views.video_edits, name="api_video_edits"),
    path("v1/videos/<str:video_id>", views.video, name="api_video"),
    path("v1/videos/<str:video_id>/content", views.video_content, name="api_video_content"),
    path("v1/videos/<str:video_id>/remix", views.video_remix, name="api_video_remix"),
    re_path(r"^v1/(?P<rest>.*)$", views.unknown),
    path("settings/api/", pages.settings_page, name="api_settings"),
    path("settings/api/keys/", pages.key_create, name="api_key_create"),
    path("settings/api/keys/<int:key_id>/revoke/", pages.key_revoke, name="api_key_revoke"),
    path("settings/api/webhooks/", pages.webhook_create, name="api_webhook_create"),
    path(
        "settings/api/webhooks/<int:endpoint_id>/delete/",
        pages.webhook_delete,
        name="api_webhook_delete",
    ),
    path(
        "settings/api/deliveries/<int:delivery_id>/replay/",
        pages.delivery_replay,
        name="api_delivery_replay",
    ),
    path("docs/api/", pages.docs_page, name="api_docs"),
]
