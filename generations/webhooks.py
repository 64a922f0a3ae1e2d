"""Webhooks from OpenAI-compatible video servers: ``video.completed`` / ``video.failed``.

A webhook only says "look now". Its Standard Webhooks signature (the endpoint's
``webhook_secret``, at most 300 s old) is checked with the SDK, and then the job is read
back from the server through the pipeline's own poll; the body's status is never trusted.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from openai import InvalidWebhookSignatureError

from generations import services
from generations.models import Generation
from generations.providers.openai_compat import OpenAICompatProvider
from generations.providers.registry import endpoint_config, get_provider
from generations.states import State

log = logging.getLogger(__name__)

EVENTS = frozenset({"video.completed", "video.failed"})


@csrf_exempt
@require_POST
def openai_webhook(request: HttpRequest, slug: str) -> HttpResponse:
    """400 for a bad or stale signature; else 200, after moving the job on when it is ours."""
    config = endpoint_config(slug)
    if config is None or not config.enabled or not config.webhook_secret:
        return HttpResponseNotFound("No such webhook.")
    provider = get_provider(config.provider_slug)
    assert isinstance(provider, OpenAICompatProvider)
    try:
        provider.client.webhooks.verify_signature(
            request.body, dict(request.headers), secret=config.webhook_secret
        )
        event = json.loads(request.body)
        kind, job_id = event["type"], str(event["data"]["id"])
    except (InvalidWebhookSignatureError, ValueError, KeyError, TypeError) as exc:
        log.warning("webhook for %s refused: %s", slug, exc)
        return HttpResponseBadRequest("Bad or stale signature, or not an event.")
    if kind not in EVENTS:
        return HttpResponse(status=200)
    generation = Generation.objects.filter(
        provider=provider.slug, provider_job_id=job_id, state=State.RUNNING
    ).first()
    if generation is not None:
        services.generation_poll(generation.pk, reschedule=False)
    return HttpResponse(status=200)
