"""``notices``: the signed-in creator's unseen notices, for the banner in base.html. Lazy,
so a page or partial that does not show the banner (the polled job card) runs no query."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from policy.review import notices_unseen


def notices(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    user_id = user.pk
    return {"notices": SimpleLazyObject(lambda: notices_unseen(user_id))}
