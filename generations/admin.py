"""Django admin: operators see and steer generations, videos, assets and the event log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from generations import services
from generations.models import (
    Account,
    Asset,
    Generation,
    GenerationEvent,
    Plan,
    Video,
    VideoEndpoint,
)
from generations.providers.registry import ENDPOINT_PREFIX


class GenerationEventInline(admin.TabularInline):
    model = GenerationEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_state", "to_state", "message", "data")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VideoInline(admin.TabularInline):
    model = Video
    extra = 0
    can_delete = False
    fields = ("poster_preview", "index", "width", "height", "duration", "size_bytes")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Poster")
    def poster_preview(self, obj: Video) -> str:
        return _poster(obj)


def _poster(video: Video) -> str:
    if not video.poster:
        return "–"
    url = reverse("admin_video_poster", args=[video.pk])
    return format_html('<img src="{}" style="height:54px;border-radius:4px">', url)


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = (
        "short_prompt",
        "state",
        "progress",
        "provider",
        "owner",
        "created_at",
        "duration",
    )
    list_filter = ("state", "provider", "resolution", "priority", "created_at")
    search_fields = ("prompt", "provider_job_id", "id", "owner__username")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "id",
        "owner",
        "parent",
        "state",
        "progress",
        "submit_key",
        "provider_job_id",
        "claimed_until",
        "polls",
        "error_code",
        "error_message",
        "created_at",
        "updated_at",
        "queued_at",
        "started_at",
        "finished_at",
        "deadline_at",
        "reference",
    )
    fields = (
        "id",
        "owner",
        "prompt",
        ("resolution", "aspect_ratio", "seconds", "fps"),
        ("variations", "priority", "seed"),
        ("provider", "model"),
        "reference",
        "parent",
        ("state", "progress"),
        ("provider_job_id", "submit_key"),
        ("error_code", "error_message"),
        ("created_at", "queued_at", "started_at", "finished_at", "deadline_at"),
    )
    inlines = (VideoInline, GenerationEventInline)
    actions = ("retry", "cancel")

    @admin.display(description="Prompt")
    def short_prompt(self, obj: Generation) -> str:
        return obj.prompt[:60]

    @admin.display(description="Time (s)")
    def duration(self, obj: Generation) -> str:
        elapsed = obj.elapsed_seconds
        return f"{elapsed:.1f}" if elapsed is not None else "–"

    @admin.action(description="Retry (as a new generation)")
    def retry(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        made = 0
        for generation in queryset.select_related("owner", "reference"):
            if generation.is_final:
                services.generation_retry(generation=generation, by=request.user)
                made += 1
        self.message_user(
            request, f"Queued {made} new generation(s); jobs still running were left alone."
        )

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        canceled = sum(services.generation_cancel(generation=g, by=request.user) for g in queryset)
        level = messages.SUCCESS if canceled else messages.WARNING
        self.message_user(request, f"Canceled {canceled} generation(s).", level)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = (
        "poster_preview",
        "__str__",
        "owner",
        "width",
        "height",
        "duration",
        "size_bytes",
        "watermark",
        "credentials_state",
        "created_at",
    )
    list_select_related = ("owner", "generation")
    list_filter = ("watermark", "created_at", "codec")
    search_fields = ("generation__prompt", "sha256", "id")
    readonly_fields = (
        "poster_preview",
        "id",
        "owner",
        "generation",
        "index",
        "file",
        "delivery",
        "poster",
        "thumbnail",
        "spritesheet",
        "watermark",
        "watermark_id",
        "credentials",
        "codec",
        "width",
        "height",
        "fps",
        "duration",
        "frames",
        "size_bytes",
        "sha256",
        "probe",
        "created_at",
    )

    @admin.display(description="Poster")
    def poster_preview(self, obj: Video) -> str:
        return _poster(obj)

    @admin.display(description="Credentials")
    def credentials_state(self, obj: Video) -> str:
        states = {part: c.get("state", "none") for part, c in obj.credentials.items()}
        return ", ".join(f"{part}: {state}" for part, state in states.items()) or "–"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = (
        "original_name",
        "kind",
        "mime",
        "width",
        "height",
        "size_bytes",
        "owner",
        "created_at",
    )
    list_filter = ("kind", "mime")
    list_select_related = ("owner",)
    search_fields = ("original_name", "sha256")
    readonly_fields = (
        "id",
        "owner",
        "kind",
        "file",
        "thumbnail",
        "original_name",
        "mime",
        "extension",
        "width",
        "height",
        "duration",
        "size_bytes",
        "sha256",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(GenerationEvent)
class GenerationEventAdmin(admin.ModelAdmin):
    list_display = ("at", "generation", "from_state", "to_state", "message")
    list_filter = ("to_state",)
    list_select_related = ("generation",)
    search_fields = ("message", "generation__id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "max_resolution",
        "max_seconds",
        "max_variations",
        "priority_per_month",
        "concurrent_jobs",
        "watermark_free",
        "is_default",
        "accounts_count",
    )
    list_editable = ("is_default",)
    fields = (
        ("name", "sort_order", "is_default"),
        ("max_resolution", "max_seconds", "max_variations"),
        ("priority_per_month", "concurrent_jobs"),
        "watermark_free",
        "allowed_models",
    )

    @admin.display(description="Accounts")
    def accounts_count(self, obj: Plan) -> int:
        return obj.accounts.count()


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("user", "plan", "created_at")
    list_filter = ("plan",)
    list_select_related = ("user", "plan")
    search_fields = ("user__username", "user__email")
    autocomplete_fields = ("user",)


class AccountInline(admin.StackedInline):
    model = Account
    can_delete = False
    fields = ("plan",)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StudioUserAdmin(UserAdmin):  # type: ignore[type-arg]
    """Django's user admin with the creator's plan on the same page."""

    inlines = (AccountInline,)
    list_display = (*UserAdmin.list_display, "plan")
    list_select_related = ("account__plan",)

    @admin.display(description="Plan")
    def plan(self, obj: Any) -> str:
        account = getattr(obj, "account", None)
        return account.plan.name if account else "–"


class VideoEndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    """Secrets are write-only: the stored value is never rendered, and a blank field keeps
    it (tick "clear" to remove it)."""

    SECRETS = ("api_key", "webhook_secret")
    api_key = forms.CharField(
        required=False, widget=forms.PasswordInput, help_text="Leave blank to keep the key."
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="Standard Webhooks secret (whsec_...). Leave blank to keep it.",
    )
    clear_api_key = forms.BooleanField(required=False, label="Clear the API key")
    clear_webhook_secret = forms.BooleanField(required=False, label="Clear the webhook secret")

    class Meta:
        model = VideoEndpoint
        fields = (
            "name",
            "slug",
            "enabled",
            "base_url",
            "api_key",
            "model_ids",
            "sizes",
            "seconds",
            "image_input",
            "remix",
            "extend",
            "webhook_secret",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in self.SECRETS:
            if data.get(f"clear_{name}"):
                data[name] = ""
            elif not data.get(name):
                data[name] = getattr(self.instance, name, "")
        return data


@admin.register(VideoEndpoint)
class VideoEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = VideoEndpointForm
    list_display = ("name", "provider_slug", "base_url", "model_ids", "enabled", "has_key")
    list_filter = ("enabled",)
    search_fields = ("name", "slug", "base_url")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("webhook_url", "created_at", "updated_at")
    fields = (
        "name",
        "slug",
        "enabled",
        "base_url",
        "api_key",
        "clear_api_key",
        "model_ids",
        "sizes",
        "seconds",
        "image_input",
        "remix",
        "extend",
        "webhook_secret",
        "clear_webhook_secret",
        "webhook_url",
        "created_at",
        "updated_at",
    )

    @admin.display(description="Provider")
    def provider_slug(self, obj: VideoEndpoint) -> str:
        return f"{ENDPOINT_PREFIX}{obj.slug}"

    @admin.display(boolean=True, description="API key set")
    def has_key(self, obj: VideoEndpoint) -> bool:
        return bool(obj.api_key)

    @admin.display(description="Webhook URL (give it to the server)")
    def webhook_url(self, obj: VideoEndpoint) -> str:
        return reverse("openai_webhook", args=[obj.slug]) if obj.pk else "-"
