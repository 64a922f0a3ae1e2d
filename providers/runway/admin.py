"""Django admin for the Runway account; its key is write-only."""

from __future__ import annotations

from django.contrib import admin

from providers.hosted.admin import HostedAccountAdmin, account_form
from providers.runway.models import RunwayAccount


@admin.register(RunwayAccount)
class RunwayAccountAdmin(HostedAccountAdmin):
    form = account_form(RunwayAccount)
