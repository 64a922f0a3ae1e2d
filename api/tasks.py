"""The api app's Celery tasks (thin: they call the webhook service), sent by name."""

from __future__ import annotations

from celery import shared_task

from api.webhooks import delivery_attempt, delivery_sweep
from core.dispatch import tolerate_deleted


@shared_task(acks_late=True, ignore_result=True)
@tolerate_deleted
def deliver_webhook(delivery_id: str) -> None:
    """Try one webhook delivery that is due; schedules its next try on failure."""
    delivery_attempt(delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_webhooks() -> None:
    """Resend webhook deliveries whose scheduled try never arrived (beat, every minute)."""
    delivery_sweep()
