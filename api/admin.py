"""Django admin for the API: keys (seen and revoked, never their secret), webhook endpoints
and their deliveries (read-only log, replayable)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from api.keys import apikey_revoke
from api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from api.webhooks import delivery_replay


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = ("prefix", "name", "owner", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("prefix", "owner", "created_at", "last_used_at", "revoked_at")
    exclude = ("hashed",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are made on the Settings page or by `manage.py apikey`

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = sum(
            apikey_revoke(key=key, by=request.user, request=request, via="admin")
            for key in queryset.select_related("owner")
        )
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ("url", "owner", "event_types", "enabled", "created_at")
    list_select_related = ("owner",)
    readonly_fields = ("secret", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # creators register endpoints on the Settings page (URL checked, secret made)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = ("event_type", "endpoint", "status", "attempt_count", "created_at")
    list_filter = ("status", "event_type")
    list_select_related = ("endpoint",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Attempts")
    def attempt_count(self, obj: WebhookDelivery) -> int:
        return len(obj.attempts)

    @admin.action(description="Send the selected deliveries again")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            delivery_replay(delivery=delivery)
        self.message_user(request, f"{queryset.count()} delivery(ies) will be sent again.")
