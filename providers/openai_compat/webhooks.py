"""Webhooks from OpenAI-compatible video servers: ``video.completed`` / ``video.failed``.

A webhook only says "look now". Its Standard Webhooks signature (the endpoint's
``webhook_secret``, at most 300 s old) is checked with the SDK; then ``job_updated`` is sent
and the pipeline reads the job back from the server through its own poll. The body's status
is never trusted.
"""

from __future__ import annotations

import json
import logging
from typing import Any

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
# Longer than any job id a server hands out; a longer one is not an event of ours.
MAX_JOB_ID_CHARS = 200


def event_fields(body: bytes) -> tuple[str, str] | None:
    """The ``type`` and ``data.id`` of a webhook body, or None unless it is a JSON object
    whose ``type`` is a string and whose ``data.id`` is a short, non-empty string."""
    try:
        event: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict):
        return None
    kind, data = event.get("type"), event.get("data")
    if not isinstance(kind, str) or not isinstance(data, dict):
        return None
    job_id = data.get("id")
    if not isinstance(job_id, str) or not 0 < len(job_id) <= MAX_JOB_ID_CHARS:
        return None
    return kind, job_id


@csrf_exempt
@require_POST
def openai_webhook(request: HttpRequest, slug: str) -> HttpResponse:
    """400 for a bad or stale signature or a body that is not an event; else 200, after the
    pipeline looked at the job."""
    config = endpoint_config(slug)
    if config is None or not config.enabled or not config.webhook_secret:
        return HttpResponseNotFound("No such webhook.")
    provider = endpoint_provider(config)
    try:
        provider.client.webhooks.verify_signature(
            request.body, dict(request.headers), secret=config.webhook_secret
        )
    except (InvalidWebhookSignatureError, ValueError, TypeError) as exc:
        log.warning("webhook for %s refused: %s", slug, exc)
        metrics.count("webhook_deliveries", provider=provider.slug, outcome="refused")
        return HttpResponseBadRequest("Bad or stale signature.")
    fields = event_fields(request.body)
    if fields is None:
        log.warning("webhook for %s refused: the body is not a video event", slug)
        metrics.count("webhook_deliveries", provider=provider.slug, outcome="refused")
        return HttpResponseBadRequest("Not a video event.")
    kind, job_id = fields
    if kind in EVENTS:
        job_updated.send(sender=OpenAICompatProvider, provider=provider.slug, job_id=job_id)
    metrics.count("webhook_deliveries", provider=provider.slug, outcome="accepted")
    return HttpResponse(status=200)
