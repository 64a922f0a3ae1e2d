"""Root URLs: admin, and each app's own."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

# Models that moved out of the generations app keep their old admin addresses working, so
# operators' bookmarks and links in old notes still arrive.
MOVED_ADMIN_MODELS = {"plan": "accounts", "account": "accounts", "videoendpoint": "openai_compat"}

urlpatterns = [
    *(
        re_path(
            rf"^admin/generations/{model}/(?P<rest>.*)$",
            RedirectView.as_view(url=f"/admin/{app}/{model}/%(rest)s", query_string=True),
        )
        for model, app in MOVED_ADMIN_MODELS.items()
    ),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("teams.urls")),
    path("", include("policy.urls")),
    path("", include("api.urls")),
    path("", include("delivery.urls")),
    path("", include("providers.openai_compat.urls")),
    path("", include("library.urls")),
    path("", include("providers.luma.urls")),
    path("", include("providers.fal.urls")),
    path("", include("providers.replicate.urls")),
    path("", include("generations.urls")),
]
