"""What a job-card poll costs the database: with a shared cache (Redis), one query; the
session and the signed-in user come from the cache, and a saved user is read afresh."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from generations.states import State
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_cache() -> Iterator[None]:
    """Studio's settings as with STUDIO_CACHE_URL=redis://...: this xdist worker's Redis DB
    (the result backend's), under a key prefix of its own."""
    url = settings.CELERY_RESULT_BACKEND or ""
    if not url.startswith("redis://"):
        pytest.skip("needs Redis (CELERY_RESULT_BACKEND=redis://...)")
    caches = {
        "default": {
            "BACKEND": "core.cache.StudioRedisCache",  # as settings.py uses it
            "LOCATION": url,
            "KEY_PREFIX": f"test-card-{uuid.uuid4().hex}",
        }
    }
    with override_settings(
        CACHES=caches,
        STUDIO_CACHE_SHARED=True,
        SESSION_ENGINE="django.contrib.sessions.backends.cached_db",
    ):
        yield


def _poll(client: Any, generation: Any) -> tuple[str, list[str]]:
    url = reverse("generation_card", args=[generation.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


def test_a_job_card_poll_is_one_query_with_a_shared_cache(shared_cache, client, user):
    generation = make_generation(user, state=State.RUNNING, progress=40)
    client.force_login(user, backend="accounts.backends.CachedModelBackend")
    _poll(client, generation)  # the first look fills the cache

    html, queries = _poll(client, generation)

    assert 'value="40"' in html
    assert len(queries) == 1, queries
    assert "generations_generation" in queries[0]


def test_without_a_shared_cache_the_session_and_user_come_from_the_database(owner_client, user):
    generation = make_generation(user, state=State.RUNNING)
    _poll(owner_client, generation)

    _, queries = _poll(owner_client, generation)

    tables = [next(t for t in ("session", "auth_user", "generation") if t in q) for q in queries]
    assert tables == ["session", "auth_user", "generation"]


def test_a_deactivated_creator_is_signed_out_at_the_next_poll(shared_cache, client, user):
    generation = make_generation(user, state=State.RUNNING)
    client.force_login(user, backend="accounts.backends.CachedModelBackend")
    assert _poll(client, generation)[0]  # cached now

    user.is_active = False
    user.save()
    response = client.get(reverse("generation_card", args=[generation.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_password_change_ends_the_other_sessions(shared_cache, client, user):
    generation = make_generation(user, state=State.RUNNING)
    client.force_login(user, backend="accounts.backends.CachedModelBackend")
    assert _poll(client, generation)[0]

    fresh = get_user_model().objects.get(pk=user.pk)
    fresh.set_password("a-new-password-42")
    fresh.save()
    response = client.get(reverse("generation_card", args=[generation.pk]))

    assert response.status_code == 302


def _hx_get(html: str) -> str:
    found = re.search(r'hx-get="([^"]+)"', html)
    assert found, html
    return found.group(1).replace("&amp;", "&")


def test_an_unchanged_card_is_answered_204_and_a_change_renders_it(owner_client, user):
    """The card polls with the fingerprint of what it shows; the same job, still the same,
    gets an empty 204 (htmx keeps the card and polls on), and any change it would show
    (progress, state, the waiting hint, the note) gets the new card with a new fingerprint."""
    generation = make_generation(user, state=State.RUNNING, progress=40, admitted_at=None)
    first, _ = _poll(owner_client, generation)
    poll_url = _hx_get(first)
    assert "?seen=" in poll_url

    unchanged = owner_client.get(poll_url, headers={"HX-Request": "true"})
    assert unchanged.status_code == 204
    assert unchanged.content == b""

    seen = {poll_url}
    for change in (
        {"progress": 41},
        {"admitted_at": timezone.now()},
        {"provider_note": "waiting behind 2 other jobs"},
        {"state": State.FINISHING},
    ):
        type(generation).objects.filter(pk=generation.pk).update(**change)
        changed = owner_client.get(poll_url, headers={"HX-Request": "true"})
        assert changed.status_code == 200, change
        poll_url = _hx_get(changed.content.decode())
        assert poll_url not in seen, change
        seen.add(poll_url)
        assert owner_client.get(poll_url, headers={"HX-Request": "true"}).status_code == 204


def test_a_fingerprint_does_not_open_another_creators_card(owner_client, user, django_user_model):
    other = django_user_model.objects.create_user("someone-else", password="x")
    theirs = make_generation(other, state=State.RUNNING)
    url = reverse("generation_card", args=[theirs.pk]) + f"?seen={theirs.card_version}"
    assert owner_client.get(url, headers={"HX-Request": "true"}).status_code == 404
