"""fal's ``webhook_url`` receiver: a POST when a queued request ends.

The URL carries a secret token (``FalProvider.webhook_token``) and the model's alias; the
body is only a hint: its ``request_id`` is read, ``job_updated`` is sent, and the pipeline
reads the request's status back from fal through its own poll. Its ``status`` and
``payload`` are never trusted.
"""

from __future__ import annotations

import hmac
import json
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.base import job_updated
from providers.fal.provider import MODELS, FalProvider

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def fal_webhook(request: HttpRequest, token: str, alias: str) -> HttpResponse:
    """404 for a wrong token or model, 400 for a body without a request id, else 200."""
    provider = FalProvider()
    if (
        alias not in MODELS
        or not provider.is_available()
        or not hmac.compare_digest(token, provider.webhook_token())
    ):
        return HttpResponseNotFound("No such webhook.")
    try:
        request_id = str(json.loads(request.body)["request_id"])
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("fal webhook refused: %s", exc)
        return HttpResponseBadRequest("Not a fal webhook.")
    job_updated.send(sender=FalProvider, provider=provider.slug, job_id=f"{alias}:{request_id}")
    return HttpResponse(status=200)
