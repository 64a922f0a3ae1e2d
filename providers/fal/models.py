"""The fal.ai account an operator configured in admin (its key is write-only)."""

from __future__ import annotations

from providers.hosted.models import HostedAccount


class FalAccount(HostedAccount):
    """A fal.ai API key (``FAL_KEY`` in the environment does the same)."""

    class Meta(HostedAccount.Meta):
        verbose_name = "fal.ai account"
