"""Django admin for the Replicate account; its secrets are write-only."""

from __future__ import annotations

from django.contrib import admin

from providers.hosted.admin import HostedAccountAdmin, account_form
from providers.replicate.models import ReplicateAccount


@admin.register(ReplicateAccount)
class ReplicateAccountAdmin(HostedAccountAdmin):
    form = account_form(ReplicateAccount)
