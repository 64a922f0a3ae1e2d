"""The api app's Celery task (thin: it calls the webhook service), sent by name."""

from __future__ import annotations

from celery import shared_task

from api.webhooks import delivery_attempt
from core.dispatch import tolerate_deleted


@shared_task(acks_late=True, ignore_result=True)
@tolerate_deleted
def deliver_webhook(delivery_id: str) -> None:
    """Try one webhook delivery that is due; schedules its next try on failure."""
    delivery_attempt(delivery_id)
