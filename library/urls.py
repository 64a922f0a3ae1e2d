"""URLs of the library: the gallery (videos, uploads), folders, bulk actions, the archive
import, share links (owner pages under /gallery/, the public ones under /s/)."""

from __future__ import annotations

from django.urls import path

from library import sharing, team_views, views

urlpatterns = [
    path("gallery/", views.gallery, name="gallery"),
    path("gallery/uploads/", views.uploads, name="library_uploads"),
    path("gallery/bulk/", views.bulk, name="library_bulk"),
    path("gallery/import/", views.archive_upload, name="library_import"),
    path("gallery/import/<uuid:import_id>/", views.import_status, name="library_import_status"),
    path("gallery/folders/", views.folder_create, name="folder_create"),
    path("gallery/folders/<int:folder_id>/rename/", views.folder_rename, name="folder_rename"),
    path("gallery/folders/<int:folder_id>/delete/", views.folder_delete, name="folder_delete"),
    path("gallery/default-folder/", views.default_folder, name="default_folder"),
    path(
        "gallery/generations/<uuid:generation_id>/favourite/",
        views.favourite,
        name="library_favourite",
    ),
    path(
        "gallery/uploads/<uuid:asset_id>/favourite/",
        views.asset_favourite,
        name="library_asset_favourite",
    ),
    path("gallery/generations/<uuid:generation_id>/tree/", views.tree, name="library_tree"),
    path("gallery/videos/<uuid:video_id>/share/", sharing.share_new, name="share_new"),
    path("gallery/shared/", sharing.shared, name="shared"),
    path("gallery/shared/<uuid:link_id>/revoke/", sharing.share_revoke, name="share_revoke"),
    path("s/<str:token>/", sharing.share_public, name="share_public"),
    path("s/<str:token>/file/", sharing.share_file, name="share_file"),
    path("s/<str:token>/poster/", sharing.share_poster, name="share_poster"),
    path("s/<str:token>/report/", sharing.share_report, name="share_report"),
    path("teams/<int:team_id>/folders/", team_views.folders, name="team_folders"),
    path("teams/<int:team_id>/folders/new/", team_views.folder_create, name="team_folder_create"),
    path("teams/<int:team_id>/folders/<int:folder_id>/", team_views.folder, name="team_folder"),
    path(
        "teams/<int:team_id>/folders/<int:folder_id>/delete/",
        team_views.folder_delete,
        name="team_folder_delete",
    ),
    path(
        "teams/<int:team_id>/videos/<uuid:video_id>/file/",
        team_views.video_file,
        name="team_video_file",
    ),
    path(
        "teams/<int:team_id>/videos/<uuid:video_id>/report/",
        team_views.video_report,
        name="team_video_report",
    ),
]
