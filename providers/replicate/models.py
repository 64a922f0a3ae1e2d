"""The Replicate account an operator configured in admin (its secrets are write-only)."""

from __future__ import annotations

from providers.hosted.models import HostedAccount


class ReplicateAccount(HostedAccount):
    """A Replicate API token (``REPLICATE_API_TOKEN`` in the environment does the same) and
    the account's webhook signing secret (``whsec_...``; read from Replicate when blank).
    Models are ``owner/name`` ids, any video model, not only the known ones."""

    class Meta(HostedAccount.Meta):
        verbose_name = "Replicate account"
