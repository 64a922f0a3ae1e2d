"""The offline renderer's jobs: each job's spec, state, progress, stored files and render
lease, in the database so that every machine sees the same job and no disk is shared."""

from __future__ import annotations

from django.db import models


class RenderLease(models.Model):
    """One offline job: what to render (``spec``), how far it got and where its files are
    in storage (``reference``, ``outputs``, names under ``work/offline/<job id>/``).

    A render holds the lease (``holder``) while it refreshes ``beat_at``; the stall check
    hands the job to another worker only once the beat is older than
    STUDIO_JOB_STALL_SECONDS, and a render that finds its lease taken stops and writes
    nothing. ``cancel_requested`` is Cancel's word to the render, read wherever it runs."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELED = "canceled"

    job_id = models.CharField(primary_key=True, max_length=120)
    holder = models.CharField(max_length=120, blank=True)
    beat_at = models.DateTimeField()
    cancel_requested = models.BooleanField(default=False)
    spec = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    reference = models.CharField(max_length=300, blank=True)
    outputs = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.job_id} ({self.state}, {self.holder or 'free'})"
