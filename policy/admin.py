"""Django admin for the content policy: rules (a regular expression that does not compile
is refused), the one settings row with its per-category thresholds, and the read-only
refusal log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from policy import review
from policy.models import (
    CategoryThreshold,
    HiddenVideo,
    PolicySettings,
    Refusal,
    ReviewItem,
    Rule,
)
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
        (
            "Review",
            {
                "fields": (
                    ("refusals_before_suspension", "refusal_window_minutes"),
                    "reports_per_hour",
                )
            },
        ),
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


@admin.register(ReviewItem)
class ReviewItemAdmin(admin.ModelAdmin[ReviewItem]):
    """The review queue: reports of shared videos and automatic flags, open ones first.
    Operators hide or restore the video, suspend or reinstate its creator, or dismiss."""

    list_display = (
        "created_at",
        "kind",
        "reason",
        "creator",
        "video_link",
        "reporter",
        "state",
        "outcome",
    )
    list_filter = ("state", "kind", "reason", "outcome")
    list_select_related = ("creator", "reporter", "video", "video__generation")
    search_fields = ("creator__username", "text", "reporter__username")
    ordering = ("-state", "-created_at")
    actions = ("hide", "restore", "suspend", "reinstate", "dismiss")
    fields = (
        "created_at",
        "kind",
        "reason",
        "text",
        "video_link",
        "prompt",
        "creator",
        "reporter",
        "reporter_ip",
        "state",
        "outcome",
        "decided_by",
        "decided_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ReviewItem | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ReviewItem | None = None) -> bool:
        return False

    @admin.display(description="Video")
    def video_link(self, obj: ReviewItem) -> str:
        if obj.video_id is None:
            return "–"
        hidden = " (hidden)" if review.video_hidden(obj.video_id) else ""
        return format_html(
            '<a href="{}">{}</a>{}',
            reverse("admin:generations_video_change", args=[obj.video_id]),
            str(obj.video_id)[:8],
            hidden,
        )

    @admin.display(description="Prompt")
    def prompt(self, obj: ReviewItem) -> str:
        return obj.video.generation.prompt if obj.video is not None else ""

    def _by(self, request: HttpRequest) -> Any:
        return request.user

    @admin.action(description="Hide the videos (share links stop working at once)")
    def hide(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        videos = {
            i.video_id: i.video for i in queryset.select_related("video__generation") if i.video
        }
        done = sum(
            review.video_hide(
                video=v, by=self._by(request), reason="found against the content policy"
            )
            for v in videos.values()
        )
        self.message_user(request, f"{done} video(s) hidden.", messages.SUCCESS)

    @admin.action(description="Restore the videos")
    def restore(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        videos = {
            i.video_id: i.video for i in queryset.select_related("video__generation") if i.video
        }
        done = sum(review.video_restore(video=v, by=self._by(request)) for v in videos.values())
        self.message_user(request, f"{done} video(s) restored.", messages.SUCCESS)

    @admin.action(description="Suspend the creators' generation")
    def suspend(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        creators = sorted({i.creator_id for i in queryset})
        done = sum(
            review.creator_suspend(
                user_id=c, by=self._by(request), reason="after a review of reports"
            )
            for c in creators
        )
        self.message_user(request, f"{done} creator(s) suspended.", messages.SUCCESS)

    @admin.action(description="Reinstate the creators")
    def reinstate(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        creators = sorted({i.creator_id for i in queryset})
        done = sum(review.creator_reinstate(user_id=c, by=self._by(request)) for c in creators)
        self.message_user(request, f"{done} creator(s) reinstated.", messages.SUCCESS)

    @admin.action(description="Dismiss (nothing wrong)")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[ReviewItem]) -> None:
        done = sum(review.item_dismiss(item=i, by=self._by(request)) for i in queryset)
        self.message_user(request, f"{done} item(s) dismissed.", messages.SUCCESS)


@admin.register(HiddenVideo)
class HiddenVideoAdmin(admin.ModelAdmin[HiddenVideo]):
    list_display = ("video", "hidden_at", "hidden_by", "reason")
    list_select_related = ("hidden_by",)
    fields = ("video", "hidden_at", "hidden_by", "reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: HiddenVideo | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: HiddenVideo | None = None) -> bool:
        return False  # restore through the review queue, so the creator is told
