"""Typed requests: what a view of a signed-in page may rely on (a real user, htmx details).

``login_required`` guarantees the user; django-htmx's middleware sets ``htmx``. Views take
``AuthedRequest`` so that ``request.user.pk`` and ``request.htmx`` type-check without casts.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


class AuthedRequest(HtmxRequest):
    user: User
