"""Root URLs: admin, and each app's own."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("delivery.urls")),
    path("", include("providers.openai_compat.urls")),
    path("", include("generations.urls")),
]
