"""Luma's ``callback_url`` receiver: a POST of the Generation object when it starts
dreaming, completes or fails.

Luma signs nothing, so the URL carries a secret token (``LumaProvider.callback_token``) and
the body is only a hint: its ``id`` is read, ``job_updated`` is sent, and the pipeline reads
the generation back from Luma through its own poll. Its ``state`` is never trusted.
"""

from __future__ import annotations

import hmac
import json
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from providers.base import job_updated
from providers.luma.provider import LumaProvider

log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def luma_callback(request: HttpRequest, token: str) -> HttpResponse:
    """404 for a wrong token, 400 for a body without an id, else 200 after one look."""
    provider = LumaProvider()
    if not provider.is_available() or not hmac.compare_digest(token, provider.callback_token()):
        return HttpResponseNotFound("No such webhook.")
    try:
        job_id = str(json.loads(request.body)["id"])
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("luma callback refused: %s", exc)
        return HttpResponseBadRequest("Not a Luma generation.")
    job_updated.send(sender=LumaProvider, provider=provider.slug, job_id=job_id)
    return HttpResponse(status=200)
