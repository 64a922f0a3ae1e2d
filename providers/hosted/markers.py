"""Submit markers of one hosted backend: ``SentCreate`` rows, committed before a create.

The rule, for every hosted backend: a marker is written before a create is sent; an answer
saves the job id in it; a refusal the server certainly did not act on (a 4xx such as 429, a
connection never made) removes it; anything else (a timeout, a 5xx, a dropped connection, a
killed worker) leaves it without an id, and the next attempt, on whichever worker, must
reconcile (look the job up) or fail with a clear message, never resend.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from providers.hosted.models import SentCreate


class Markers:
    """The markers of one backend (``namespace``), one row per key."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def read(self, key: str) -> dict[str, Any] | None:
        """The marker's data (with ``job_id`` once known), or None if none was written."""
        row = SentCreate.objects.filter(provider=self.namespace, key=key).first()
        if row is None:
            return None
        data = dict(row.data) if isinstance(row.data, dict) else {}
        if row.job_id:
            data["job_id"] = row.job_id
        return data

    def write(self, key: str, data: Mapping[str, Any]) -> None:
        """Save the marker and commit it before returning. ``durable``: called inside a
        caller's transaction it raises, since a rollback there could take the marker back
        after the create went out."""
        values = {name: value for name, value in data.items() if name != "job_id"}
        with transaction.atomic(durable=True):
            SentCreate.objects.update_or_create(
                provider=self.namespace,
                key=key,
                defaults={"data": values, "job_id": str(data.get("job_id") or "")},
            )

    def forget(self, key: str) -> None:
        SentCreate.objects.filter(provider=self.namespace, key=key).delete()

    def prune(self) -> None:
        """Forget markers older than two job deadlines: no generation can need them."""
        cutoff = timezone.now() - timedelta(seconds=2 * settings.STUDIO_JOB_DEADLINE_SECONDS)
        SentCreate.objects.filter(provider=self.namespace, sent_at__lt=cutoff).delete()
