"""Django admin for the Luma Dream Machine account; its secrets are write-only."""

from __future__ import annotations

from django.contrib import admin

from providers.hosted.admin import HostedAccountAdmin, account_form
from providers.luma.models import LumaAccount


@admin.register(LumaAccount)
class LumaAccountAdmin(HostedAccountAdmin):
    form = account_form(LumaAccount)
