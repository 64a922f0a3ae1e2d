"""Django admin for the fal.ai account; its secrets are write-only."""

from __future__ import annotations

from django.contrib import admin

from providers.fal.models import FalAccount
from providers.hosted.admin import HostedAccountAdmin, account_form


@admin.register(FalAccount)
class FalAccountAdmin(HostedAccountAdmin):
    form = account_form(FalAccount)
