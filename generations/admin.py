"""Django admin: operators see and steer generations, videos, assets and the event log."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from generations import services
from generations.models import Asset, Generation, GenerationEvent, ModelPrice, Video


class GenerationEventInline(admin.TabularInline[GenerationEvent, Generation]):
    model = GenerationEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_state", "to_state", "message", "data")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Generation | None = None) -> bool:
        return False


class VideoInline(admin.TabularInline[Video, Generation]):
    model = Video
    extra = 0
    can_delete = False
    fields = ("poster_preview", "index", "width", "height", "duration", "size_bytes")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Generation | None = None) -> bool:
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
class GenerationAdmin(admin.ModelAdmin[Generation]):
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
        "cost_estimate",
        "cost_actual",
        "cost_currency",
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
        ("cost_estimate", "cost_actual", "cost_currency"),
        ("created_at", "queued_at", "started_at", "finished_at", "deadline_at"),
    )
    inlines = (VideoInline, GenerationEventInline)
    actions = ("retry", "cancel", "sum_cost")

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
            if not generation.is_final:
                continue
            try:
                services.generation_retry(generation=generation)
            except ValidationError as exc:
                reason = " ".join(exc.messages)
                self.message_user(request, f"Not retried: {generation}: {reason}", messages.ERROR)
            else:
                made += 1
        self.message_user(
            request, f"Queued {made} new generation(s); jobs still running were left alone."
        )

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        by = request.user if isinstance(request.user, User) else None
        canceled = sum(services.generation_cancel(generation=g, by=by) for g in queryset)
        level = messages.SUCCESS if canceled else messages.WARNING
        self.message_user(request, f"Canceled {canceled} generation(s).", level)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin[Video]):
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
class AssetAdmin(admin.ModelAdmin[Asset]):
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
class GenerationEventAdmin(admin.ModelAdmin[GenerationEvent]):
    list_display = ("at", "generation", "from_state", "to_state", "message")
    list_filter = ("to_state",)
    list_select_related = ("generation",)
    search_fields = ("message", "generation__id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: GenerationEvent | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: GenerationEvent | None = None
    ) -> bool:
        return False


# --- cost (issue 14) -------------------------------------------------------------------------


@admin.action(description="Sum the cost of the selected generations per creator and month")
def _sum_cost(
    modeladmin: admin.ModelAdmin[Generation], request: HttpRequest, queryset: QuerySet[Generation]
) -> None:
    from generations.pricing import cost_by_creator_and_month, money

    for (username, month, currency), total in cost_by_creator_and_month(queryset):
        modeladmin.message_user(request, f"{username}, {month}: {money(total, currency)}")


GenerationAdmin.sum_cost = _sum_cost  # type: ignore[attr-defined]


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin[ModelPrice]):
    """Prices per provider model; "Add published prices" seeds the missing ones."""

    list_display = ("provider", "model", "unit", "amount", "currency", "is_estimate", "updated_at")
    list_editable = ("unit", "amount", "currency", "is_estimate")
    list_filter = ("provider", "unit", "is_estimate")
    actions = ("seed",)

    @admin.action(description="Add the providers' published prices that are missing")
    def seed(self, request: HttpRequest, queryset: QuerySet[ModelPrice]) -> None:
        from generations.pricing import price_seed

        self.message_user(request, f"Added {price_seed()} published price(s).")
