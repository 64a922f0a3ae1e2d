"""Django admin for the content policy: rules (a regular expression that does not compile
is refused), the one settings row with its per-category thresholds, and the read-only
refusal log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from policy.models import CategoryThreshold, PolicySettings, Refusal, Rule
from policy.rules import regex_error


class RuleForm(forms.ModelForm[Rule]):
    class Meta:
        model = Rule
        fields = ("name", "kind", "patterns", "language", "public_reason", "enabled")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Rule.Kind.REGEX and (error := regex_error(data.get("patterns", ""))):
            self.add_error("patterns", f"This regular expression does not compile: {error}")
        return data


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin[Rule]):
    form = RuleForm
    list_display = ("name", "kind", "language", "public_reason", "enabled", "updated_at")
    list_filter = ("kind", "language", "enabled")
    search_fields = ("name", "patterns", "public_reason")


class ThresholdInline(admin.TabularInline[CategoryThreshold, PolicySettings]):
    model = CategoryThreshold
    extra = 1


@admin.register(PolicySettings)
class PolicySettingsAdmin(admin.ModelAdmin[PolicySettings]):
    """One row: the list page goes straight to it."""

    inlines = (ThresholdInline,)
    fieldsets = (
        (
            "Moderation endpoint",
            {
                "fields": ("moderation_url", "moderation_model", "moderation_timeout", "on_outage"),
                "description": "With no thresholds below, the endpoint's own verdict decides.",
            },
        ),
        ("Faces", {"fields": ("refuse_faces", "face_reason")}),
    )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        row = PolicySettings.load()
        return HttpResponseRedirect(reverse("admin:policy_policysettings_change", args=[row.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Refusal)
class RefusalAdmin(admin.ModelAdmin[Refusal]):
    list_display = ("at", "user", "stage", "rule", "reason")
    list_filter = ("stage", ("at", admin.DateFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("user__username", "rule", "excerpt")
    date_hierarchy = "at"
    fields = ("at", "user", "stage", "rule", "reason", "excerpt")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Refusal | None = None) -> bool:
        return False
