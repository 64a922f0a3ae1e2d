"""Django admin for the audit trail: viewable and filterable, never added to, changed or
deleted; the filtered list exports as CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, path
from django.utils import timezone

from audit.models import AuditRecord

CSV_COLUMNS = (
    "at",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "ip",
    "user_agent",
    "detail",
)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = value.isoformat() if hasattr(value, "isoformat") else ("" if value is None else value)
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(records: QuerySet[AuditRecord]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for item in records.iterator(chunk_size=1000):
        yield writer.writerow([_cell(getattr(item, column)) for column in CSV_COLUMNS])


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin[AuditRecord]):
    list_display = ("at", "actor_name", "action", "target_type", "target_repr", "ip")
    list_filter = ("action", "target_type", ("at", admin.DateFieldListFilter))
    search_fields = ("actor_name", "action", "target_repr", "target_id", "ip")
    date_hierarchy = "at"
    # Not the actor itself: their user row may be gone (the record keeps their name).
    readonly_fields = CSV_COLUMNS
    fields = readonly_fields
    actions = None
    change_list_template = "admin/audit/auditrecord/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditRecord | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        export = self.admin_site.admin_view(self.export_csv)
        return [path("export.csv", export, name="audit_auditrecord_export"), *super().get_urls()]

    def export_csv(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        """The records the change list shows for the same filters and search, as CSV."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        records = self.get_changelist_instance(request).get_queryset(request)
        name = f"audit-{timezone.now():%Y%m%d-%H%M%S}.csv"
        return StreamingHttpResponse(
            csv_rows(records),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
