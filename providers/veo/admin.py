"""Django admin for the Veo account (project, location, credentials file path)."""

from __future__ import annotations

from django.contrib import admin

from providers.hosted.admin import HostedAccountAdmin, account_form
from providers.veo.models import VeoAccount


class VeoAccountForm(account_form(VeoAccount)):  # type: ignore[misc]
    class Meta:
        model = VeoAccount
        fields = (
            "name",
            "enabled",
            "project",
            "location",
            "credentials_file",
            "output_gcs_uri",
            "retry_attempts",
            "base_url",
            "model_ids",
        )


@admin.register(VeoAccount)
class VeoAccountAdmin(HostedAccountAdmin):
    form = VeoAccountForm
    list_display = ("name", "enabled", "project", "location", "model_ids", "updated_at")
    fields = (
        "name",
        "enabled",
        "project",
        "location",
        "credentials_file",
        "retry_attempts",
        "base_url",
        "model_ids",
        "created_at",
        "updated_at",
    )
