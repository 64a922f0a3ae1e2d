"""The Runway account an operator configured in admin (its key is write-only)."""

from __future__ import annotations

from providers.hosted.models import HostedAccount


class RunwayAccount(HostedAccount):
    """A Runway API key (``RUNWAYML_API_SECRET`` in the environment does the same)."""

    class Meta(HostedAccount.Meta):
        verbose_name = "Runway account"
