"""The Luma Dream Machine account an operator configured in admin (its key is write-only)."""

from __future__ import annotations

from providers.hosted.models import HostedAccount


class LumaAccount(HostedAccount):
    """A Luma Dream Machine API key (``LUMAAI_API_KEY`` in the environment does the same)."""

    class Meta(HostedAccount.Meta):
        verbose_name = "Luma Dream Machine account"
