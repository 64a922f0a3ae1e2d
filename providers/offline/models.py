"""The offline renderer's render leases: which worker is rendering a job now and when it
last said so, in the database so that every machine sees the same lease."""

from __future__ import annotations

from django.db import models


class RenderLease(models.Model):
    """One offline job's lease. A render holds it (``holder``) while it refreshes
    ``beat_at``; the stall check hands the job to another worker only once the beat is
    older than STUDIO_JOB_STALL_SECONDS, and a render that finds its lease taken stops.
    ``cancel_requested`` is Cancel's word to the render, read wherever it runs."""

    job_id = models.CharField(primary_key=True, max_length=120)
    holder = models.CharField(max_length=120, blank=True)
    beat_at = models.DateTimeField()
    cancel_requested = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.job_id} ({self.holder or 'free'})"
