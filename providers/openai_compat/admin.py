"""Django admin for OpenAI-compatible endpoints; their secrets are write-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse

from providers.openai_compat.config import ENDPOINT_PREFIX
from providers.openai_compat.models import VideoEndpoint


class VideoEndpointForm(forms.ModelForm[VideoEndpoint]):
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
class VideoEndpointAdmin(admin.ModelAdmin[VideoEndpoint]):
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
