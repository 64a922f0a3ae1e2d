"""Studio: a self-hosted web studio for making video with AI."""

from __future__ import annotations

from studio.celery import app as celery_app

__all__ = ["celery_app"]
__version__ = "0.1.0"
