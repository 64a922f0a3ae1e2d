"""Outgoing webhooks: endpoints a creator registers (with a ``whsec_`` secret), events made
when a generation ends, and their delivery signed in the Standard Webhooks scheme
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">``), retried with backoff for about a day.

URLs that resolve to loopback, private, link-local or other non-public addresses are
refused, at registration and again before every attempt (a name can change its address),
unless the operator sets STUDIO_WEBHOOK_ALLOW_PRIVATE. Redirects are not followed.
Registering and removing an endpoint are recorded in the audit trail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone

import audit
from api.models import WebhookDelivery, WebhookEndpoint
from api.protocol import VIDEO_ID_PREFIX
from core.dispatch import enqueue
from generations.models import Generation
from generations.states import State

DELIVER_TASK = "api.tasks.deliver_webhook"
EVENT_OF_STATE: dict[str, str] = {
    State.SUCCEEDED: "video.completed",
    State.FAILED: "video.failed",
    State.REJECTED: "video.failed",
    State.CANCELED: "video.failed",
}
# How long one attempt holds a delivery before another worker may try it.
ATTEMPT_LEASE = timedelta(minutes=2)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for one message."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def url_refusal(url: str) -> str | None:
    """Why Studio will not send to ``url``, or None when it will."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Webhook URLs must be http:// or https:// with a host."
    if settings.STUDIO_WEBHOOK_ALLOW_PRIVATE:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        return f"{parts.hostname} does not resolve."
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            return (
                f"{parts.hostname} resolves to {address}, a loopback, private or link-local "
                "address: Studio sends webhooks to public addresses only."
            )
    return None


def endpoint_create(
    *,
    owner: User,
    url: str,
    event_types: list[str],
    by: User | AnonymousUser | None = None,
    request: HttpRequest | None = None,
) -> WebhookEndpoint:
    """Register an endpoint. Raises ValidationError for a refused URL or an unknown event.
    Recorded as ``webhook_endpoint.created`` (``by``: default the request's user)."""
    url = url.strip()
    refusal = url_refusal(url)
    if refusal:
        raise ValidationError({"url": refusal})
    unknown = sorted(set(event_types) - set(WebhookEndpoint.EVENT_TYPES))
    if unknown or not event_types:
        raise ValidationError({"event_types": "Choose video.completed and/or video.failed."})
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            owner=owner, url=url, event_types=sorted(set(event_types)), secret=new_secret()
        )
        audit.record(
            "webhook_endpoint.created",
            actor=by,
            target=endpoint,
            request=request,
            owner=owner.get_username(),
            url=url,
            event_types=endpoint.event_types,
        )
    return endpoint


def endpoint_delete(
    *,
    endpoint: WebhookEndpoint,
    by: User | AnonymousUser | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Remove an endpoint and its delivery log; recorded as ``webhook_endpoint.deleted``
    (the record keeps its id and URL: the row is gone)."""
    with transaction.atomic():
        audit.record(
            "webhook_endpoint.deleted",
            actor=by,
            target=endpoint,
            request=request,
            owner=endpoint.owner.get_username(),
            url=endpoint.url,
            event_types=endpoint.event_types,
        )
        endpoint.delete()


def endpoint_get_for_user(user: User, endpoint_id: object) -> WebhookEndpoint:
    try:
        pk = int(str(endpoint_id))
    except ValueError:
        raise Http404("No such endpoint.") from None
    return get_object_or_404(WebhookEndpoint, pk=pk, owner=user)


def delivery_get_for_user(user: User, delivery_id: object) -> WebhookDelivery:
    try:
        pk = int(str(delivery_id))
    except ValueError:
        raise Http404("No such delivery.") from None
    return get_object_or_404(WebhookDelivery, pk=pk, endpoint__owner=user)


def on_generation_ended(sender: object, *, generation_id: UUID, state: str, **kwargs: Any) -> None:
    """``generation_ended``: one delivery per enabled endpoint that wants this event,
    written in the ending's transaction and sent when it commits."""
    event_type = EVENT_OF_STATE.get(state)
    if event_type is None:
        return
    owner_id = Generation.objects.values_list("owner_id", flat=True).get(pk=generation_id)
    endpoints = WebhookEndpoint.objects.filter(owner_id=owner_id, enabled=True)
    now = timezone.now()
    for endpoint in endpoints:
        if event_type not in endpoint.event_types:
            continue
        event_id = "evt_" + uuid.uuid4().hex
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=event_id,
            event_type=event_type,
            payload={
                "id": event_id,
                "object": "event",
                "created_at": int(now.timestamp()),
                "type": event_type,
                "data": {"id": VIDEO_ID_PREFIX + generation_id.hex},
            },
            next_attempt_at=now,
        )
        enqueue(DELIVER_TASK, str(delivery.pk))


def retry_schedule() -> list[float]:
    return [float(s) for s in settings.STUDIO_WEBHOOK_RETRY_SECONDS.split(",") if s.strip()]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _send(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the event once; (HTTP status or None, error text)."""
    refusal = url_refusal(endpoint.url)
    if refusal:
        return None, refusal
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Studio-Webhooks/1",
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(endpoint.secret, delivery.event_id, timestamp, body),
        },
    )
    try:
        with _opener.open(request, timeout=settings.STUDIO_WEBHOOK_TIMEOUT_SECONDS) as answer:
            answer.read(65536)
            return int(answer.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return None, str(exc)[:300] or type(exc).__name__


def delivery_attempt(delivery_id: int | str) -> str:
    """Try to send one delivery that is due (what the task runs). A 2xx marks it delivered;
    anything else is logged and the next try scheduled, until the schedule is spent (then
    it is given up). A delivery not due, or held by another attempt, is left alone.
    Returns the delivery's status afterwards."""
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + ATTEMPT_LEASE)
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if not claimed:
        return delivery.status
    started = time.monotonic()
    status_code, error = _send(delivery.endpoint, delivery)
    latency_ms = int((time.monotonic() - started) * 1000)
    attempts = [
        *delivery.attempts,
        {
            "at": now.isoformat(),
            "status_code": status_code,
            "latency_ms": latency_ms,
            "error": error,
        },
    ]
    with transaction.atomic():
        if status_code is not None and 200 <= status_code < 300:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                attempts=attempts,
                status=WebhookDelivery.Status.SUCCEEDED,
                delivered_at=timezone.now(),
                next_attempt_at=None,
            )
            return WebhookDelivery.Status.SUCCEEDED
        schedule = retry_schedule()
        # A replay starts a new series: count the failed tries since it.
        failures_in_series = len(attempts) - delivery.series_start
        if failures_in_series > len(schedule):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                attempts=attempts, status=WebhookDelivery.Status.FAILED, next_attempt_at=None
            )
            return WebhookDelivery.Status.FAILED
        countdown = schedule[failures_in_series - 1]
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempts, next_attempt_at=timezone.now() + timedelta(seconds=countdown)
        )
        enqueue(DELIVER_TASK, str(delivery.pk), countdown=countdown)
    return WebhookDelivery.Status.PENDING


def delivery_replay(*, delivery: WebhookDelivery) -> None:
    """Send a delivery again now (same event id: receivers can tell it is the same event),
    with a fresh retry schedule."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            series_start=len(delivery.attempts),
        )
        enqueue(DELIVER_TASK, str(delivery.pk))


def delivery_sweep() -> int:
    """Send again the pending deliveries whose try is overdue by a minute (their message was
    lost: a broker restart, or a countdown longer than the broker keeps unacked messages).
    Returns how many were sent; a duplicate message is harmless (the claim above)."""
    overdue = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lt=timezone.now() - timedelta(minutes=1),
    ).values_list("pk", flat=True)[:500]
    count = 0
    for pk in overdue:
        enqueue(DELIVER_TASK, str(pk))
        count += 1
    return count
