"""Replicate's webhooks: a POST of the prediction when it completes.

The Standard-Webhooks signature is checked with the SDK's ``Webhooks.validate`` (the
account's signing secret, at most 300 s old); then ``job_updated`` is sent and the pipeline
reads the prediction back from Replicate through its own poll. The body's status is never
trusted.
"""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from replicate.webhook import Webhooks, WebhookSigningSecret, WebhookValidationError

from providers.base import ProviderError, job_updated
from providers.replicate.provider import ReplicateProvider

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300


@csrf_exempt
@require_POST
def replicate_webhook(request: HttpRequest) -> HttpResponse:
    """400 for a bad or stale signature; else 200, after the pipeline looked at the job."""
    provider = ReplicateProvider()
    if not provider.is_available():
        return HttpResponseNotFound("No such webhook.")
    try:
        secret = provider.webhook_secret()
    except ProviderError as exc:
        log.warning("replicate webhook: no signing secret: %s", exc)
        return HttpResponse("The signing secret could not be read.", status=503)
    try:
        Webhooks.validate(
            headers=dict(request.headers),
            body=request.body.decode(),
            secret=WebhookSigningSecret(key=secret),
            tolerance=TOLERANCE_SECONDS,
        )
        job_id = str(json.loads(request.body)["id"])
    except (WebhookValidationError, ValueError, KeyError, TypeError) as exc:
        log.warning("replicate webhook refused: %s", exc)
        return HttpResponseBadRequest("Bad or stale signature, or not a prediction.")
    job_updated.send(sender=ReplicateProvider, provider=provider.slug, job_id=job_id)
    return HttpResponse(status=200)
