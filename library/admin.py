"""Admin for the library: folders, share links (with a revoke action), imported files and
archive imports."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from library import services
from library.models import ArchiveImport, Folder, Imported, ShareLink


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin[Folder]):
    list_display = ["name", "owner", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__username"]
    readonly_fields = ["created_at"]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin[ShareLink]):
    list_display = ["id", "owner", "video", "show_prompt", "expires_at", "revoked_at", "views"]
    list_select_related = ["owner", "video", "video__generation"]
    list_filter = ["show_prompt", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["owner__username", "video__id"]
    readonly_fields = ["id", "owner", "video", "views", "created_at", "revoked_at"]
    fields = [*readonly_fields, "show_prompt", "expires_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # links are made by their owners, from the video's page

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ShareLink]) -> None:
        operator = request.user if isinstance(request.user, User) else None
        revoked = sum(services.share_revoke(link=link, by=operator) for link in queryset)
        self.message_user(request, f"{revoked} link(s) revoked.", messages.SUCCESS)


@admin.register(Imported)
class ImportedAdmin(admin.ModelAdmin[Imported]):
    list_display = ["path_in_archive", "archive_name", "made_with", "asset", "created_at"]
    list_select_related = ["asset"]
    search_fields = ["path_in_archive", "archive_name", "asset__owner__username"]
    readonly_fields = [
        "asset",
        "archive_name",
        "path_in_archive",
        "credentials",
        "made_with",
        "created_at",
    ]


@admin.register(ArchiveImport)
class ArchiveImportAdmin(admin.ModelAdmin[ArchiveImport]):
    list_display = ["archive_name", "owner", "state", "done_files", "total_files", "created_at"]
    list_select_related = ["owner"]
    list_filter = ["state"]
    search_fields = ["archive_name", "owner__username"]
    readonly_fields = [f.name for f in ArchiveImport._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the creator's upload
