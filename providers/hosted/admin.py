"""Admin for hosted providers' accounts: the API key and webhook secret are write-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from providers.hosted.models import HostedAccount


def account_form(account_model: type[HostedAccount]) -> type[forms.ModelForm[Any]]:
    """A form for ``account_model`` whose secrets are never rendered: a blank field keeps
    the stored value, and "clear" removes it."""

    class AccountForm(forms.ModelForm[Any]):
        SECRETS = ("api_key", "webhook_secret")
        api_key = forms.CharField(
            required=False, widget=forms.PasswordInput, help_text="Leave blank to keep the key."
        )
        webhook_secret = forms.CharField(
            required=False,
            widget=forms.PasswordInput,
            help_text="The provider's webhook signing secret, where it has one. "
            "Leave blank to keep it.",
        )
        clear_api_key = forms.BooleanField(required=False, label="Clear the API key")
        clear_webhook_secret = forms.BooleanField(required=False, label="Clear the webhook secret")

        class Meta:
            model = account_model
            fields = ("name", "enabled", "api_key", "base_url", "model_ids", "webhook_secret")

        def clean(self) -> dict[str, Any]:
            data = super().clean() or {}
            for name in self.SECRETS:
                if data.get(f"clear_{name}"):
                    data[name] = ""
                elif not data.get(name):
                    data[name] = getattr(self.instance, name, "")
            return data

    return AccountForm


class HostedAccountAdmin(admin.ModelAdmin[Any]):
    """List and edit one provider's accounts; the first enabled one is used."""

    list_display = ("name", "enabled", "has_key", "base_url", "model_ids", "updated_at")
    readonly_fields = ("created_at", "updated_at")
    fields = (
        "name",
        "enabled",
        "api_key",
        "clear_api_key",
        "base_url",
        "model_ids",
        "webhook_secret",
        "clear_webhook_secret",
        "created_at",
        "updated_at",
    )

    @admin.display(boolean=True, description="API key set")
    def has_key(self, obj: HostedAccount) -> bool:
        return bool(obj.api_key)
