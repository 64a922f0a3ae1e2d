"""A small fixed-window rate limit on the cache (per client address and scope), for the
public share pages."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def allow(request: HttpRequest, scope: str) -> bool:
    """False once this client made more than STUDIO_SHARE_RATE_LIMIT requests to ``scope``
    in the current minute."""
    limit = settings.STUDIO_SHARE_RATE_LIMIT
    if limit <= 0:
        return True
    key = f"library:rate:{scope}:{client_address(request)}"
    if cache.add(key, 1, timeout=60):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=60)
        return True
    return count <= limit
