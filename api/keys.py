"""API keys: made (the secret shown once), revoked, and checked on every request. Making and
revoking one is recorded in the audit trail (who, which key, when, from where).

A key is ``sk-studio-`` and 43 random URL-safe characters. Only its SHA-256 is stored (the
secret is high-entropy, so a plain hash is enough), with the first 18 characters as the
prefix a creator and an operator see and revoke it by.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone

import audit
from api.models import ApiKey

KEY_PREFIX = "sk-studio-"
PREFIX_LENGTH = len(KEY_PREFIX) + 8
# last_used_at is written at most this often per key: a busy script costs no write a poll.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class NewKey:
    """A key just made: ``secret`` exists only here, never in the database."""

    key: ApiKey
    secret: str


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def apikey_create(
    *,
    owner: User,
    name: str = "",
    by: User | AnonymousUser | None = None,
    request: HttpRequest | None = None,
    via: str = "settings",
    command: dict[str, str] | None = None,
) -> NewKey:
    """Make a key for ``owner``; the returned secret is the only copy there will be.
    Recorded as ``api_key.created``: ``by`` (default: the request's user), from where
    (the request's address; a command records ``via="command"`` and who ran it, where,
    as ``command``)."""
    for _ in range(5):
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    owner=owner,
                    name=name.strip()[:80],
                    prefix=secret[:PREFIX_LENGTH],
                    hashed=key_hash(secret),
                )
                _record("api_key.created", key, by=by, request=request, via=via, command=command)
        except IntegrityError:
            continue  # the prefix is taken: draw again
        return NewKey(key=key, secret=secret)
    raise RuntimeError("could not make a key with a free prefix")


def apikey_revoke(
    *,
    key: ApiKey,
    by: User | AnonymousUser | None = None,
    request: HttpRequest | None = None,
    via: str = "settings",
    command: dict[str, str] | None = None,
) -> bool:
    """Revoke a key at once (the next request with it is a 401). False if it was revoked.
    Recorded as ``api_key.revoked``, as ``apikey_create`` records."""
    with transaction.atomic():
        revoked = bool(
            ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
        )
        if revoked:
            _record("api_key.revoked", key, by=by, request=request, via=via, command=command)
    return revoked


def _record(
    action: str,
    key: ApiKey,
    *,
    by: User | AnonymousUser | None,
    request: HttpRequest | None,
    via: str,
    command: dict[str, str] | None,
) -> None:
    """The audit record of a key made or revoked; never its secret or its hash."""
    audit.record(
        action,
        actor=by,
        target=key,
        request=request,
        system=via == "command",
        owner=key.owner.get_username(),
        prefix=key.prefix,
        name=key.name,
        via=via,
        command=command,
    )


def apikey_get_for_user(user: User, key_id: object) -> ApiKey:
    try:
        pk = int(str(key_id))
    except ValueError:
        raise Http404("No such key.") from None
    return get_object_or_404(ApiKey, pk=pk, owner=user)


def apikey_authenticate(secret: str) -> ApiKey | None:
    """The active key with this secret (its owner loaded), or None; notes its use."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    # One query on every request, never a cached answer: a key revoked or an owner
    # deactivated by any means is refused at once. Unordered, so that it compiles cheaply.
    found = (
        ApiKey.objects.select_related("owner__account__plan")
        .filter(hashed=key_hash(secret), revoked_at__isnull=True, owner__is_active=True)
        .order_by()[:1]
    )
    key = next(iter(found), None)
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        key.last_used_at = now
    return key
