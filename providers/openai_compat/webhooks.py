"""Webhooks from OpenAI-compatible video servers: ``video.completed`` / ``video.failed``.

A webhook only says "look now". Its Standard Webhooks signature (the endpoint's
``webhook_secret``, at most 300 s old) is checked with the SDK; then ``job_updated`` is sent
and the pipeline reads the job back from the server through its own poll. The body's status
is never trusted.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from openai import InvalidWebhookSignatureError

from core import metrics
from providers.base import job_updated
from providers.openai_compat.config import endpoint_config
from providers.openai_compat.provider import OpenAICompatProvider, endpoint_provider

log = logging.getLogger(__name__)

EVENTS = frozenset({"video.completed", "video.failed"})


@csrf_exempt
@require_POST
def openai_webhook(request: HttpRequest, slug: str) -> HttpResponse:
    """400 for a bad or stale signature; else 200, after the pipeline looked at the job."""
    config = endpoint_config(slug)
    if config is None or not config.enabled or not config.webhook_secret:
        return HttpResponseNotFound("No such webhook.")
    provider = endpoint_provider(config)
    try:
        provider.client.webhooks.verify_signature(
            request.body, dict(request.headers), secret=config.webhook_secret
        )
        event = json.loads(request.body)
        kind, job_id = event["type"], str(event["data"]["id"])
    except (InvalidWebhookSignatureError, ValueError, KeyError, TypeError) as exc:
        log.warning("webhook for %s refused: %s", slug, exc)
        metrics.count("webhook_deliveries", provider=provider.slug, outcome="refused")
        return HttpResponseBadRequest("Bad or stale signature, or not an event.")
    if kind in EVENTS:
        job_updated.send(sender=OpenAICompatProvider, provider=provider.slug, job_id=job_id)
    metrics.count("webhook_deliveries", provider=provider.slug, outcome="accepted")
    return HttpResponse(status=200)
