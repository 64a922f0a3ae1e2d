"""What a /v1/ request costs: a retrieve is two queries (the key, checked afresh every time,
and the video with its source's generation id in the same row), a page of the list is two
however many videos (remixes among them) it holds; the per-key rate counters take one Redis
round trip each and count across processes; the poll hint keeps retrieves per job few."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from api.errors import ApiError
from api.keys import apikey_create
from api.protocol import poll_after_ms
from api.ratelimit import rate_take
from generations.models import Generation
from generations.states import State
from tests.factories import make_generation, make_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache() -> Iterator[None]:
    url = settings.CELERY_RESULT_BACKEND or ""
    if not url.startswith("redis://"):
        pytest.skip("needs Redis (CELERY_RESULT_BACKEND=redis://...)")
    prefix = f"test-api-{uuid.uuid4().hex}"
    config = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    with override_settings(CACHES={"default": {**config, "KEY_PREFIX": prefix}}):
        yield


def _get(client: Any, url: str, secret: str) -> tuple[dict[str, Any], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.content
    return response.json(), [q["sql"] for q in queries.captured_queries]


def _remix_of(user: Any, source: Generation) -> Generation:
    video = source.videos.first() or make_video(source)
    return make_generation(
        user, state=State.RUNNING, parent=source, source_video=video, operation="remix"
    )


def test_a_retrieve_is_two_queries_and_names_the_remix_source(client, user):
    secret = apikey_create(owner=user).secret
    source = make_generation(user, state=State.SUCCEEDED)
    remix = _remix_of(user, source)
    url = f"/v1/videos/video_{remix.pk.hex}"
    _get(client, url, secret)  # the key's first use is noted (once a minute at most)

    body, queries = _get(client, url, secret)

    assert body["remixed_from_video_id"] == "video_" + source.pk.hex
    assert len(queries) == 2, queries
    assert "api_apikey" in queries[0] and "generations_generation" in queries[1]


def test_a_page_of_the_list_is_two_queries_whatever_it_holds(client, user):
    secret = apikey_create(owner=user).secret
    source = make_generation(user, state=State.SUCCEEDED)
    for _ in range(3):
        _remix_of(user, source)
    _get(client, "/v1/videos", secret)

    body, queries = _get(client, "/v1/videos?limit=10", secret)

    assert len(body["data"]) == 4 and len(queries) == 2, queries
    remixed = [v["remixed_from_video_id"] for v in body["data"]]
    assert remixed.count("video_" + source.pk.hex) == 3 and remixed.count(None) == 1


def test_rate_counters_on_redis_take_one_round_trip_and_are_shared(redis_cache, monkeypatch):
    backend = caches["default"]
    client = backend._cache.get_client(None, write=True)
    calls: list[object] = []
    original = type(client).execute_command
    pipelines: list[int] = []
    pipeline_type = type(client.pipeline())
    original_pipe = pipeline_type.execute

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return original(self, *args, **kwargs)

    def counting_pipe(self: Any, *args: Any, **kwargs: Any) -> Any:
        pipelines.append(len(self.command_stack))
        return original_pipe(self, *args, **kwargs)

    monkeypatch.setattr(type(client), "execute_command", counting)
    monkeypatch.setattr(pipeline_type, "execute", counting_pipe)
    key_id = uuid.uuid4().int % 10**9
    windows = [rate_take(key_id, "requests", 3) for _ in range(3)]
    assert [w.remaining for w in windows] == [2, 1, 0]
    assert calls == [] and pipelines == [2, 2, 2]  # SET NX EX + INCR, together, each time
    raw = backend.make_and_validate_key(f"api:rate:{key_id}:requests:")
    stored = client.keys(raw + "*")
    assert len(stored) == 1 and 0 < client.ttl(stored[0]) <= 65
    # Another process sees the same count: read it back through a fresh connection pool.
    assert int(type(client).from_url(settings.CELERY_RESULT_BACKEND).get(stored[0])) == 3
    with pytest.raises(ApiError) as caught:
        rate_take(key_id, "requests", 3)
    assert caught.value.status == 429 and caught.value.headers["Retry-After"]


def test_the_poll_hint_follows_the_jobs_expected_remaining_time(user):
    """Fewer retrieves per job: a job still waiting (for a slot, or in the provider's own
    queue with no progress yet) is polled at a quarter of its wait so far; a rendering one
    at half the time its progress rate says is left; an ended one not at all."""
    now = timezone.now()

    def hint(state: str, progress: int, waited: float, rendering: float = 0) -> int | None:
        generation = make_generation(
            user,
            state=state,
            progress=progress,
            queued_at=now - timedelta(seconds=waited),
            started_at=now - timedelta(seconds=rendering) if rendering else None,
        )
        return poll_after_ms(generation)

    assert hint(State.QUEUED, 0, waited=2) == 1000
    assert 9_900 <= hint(State.QUEUED, 0, waited=40) <= 10_100
    # Submitted, but the provider has not started it: still a wait, not a 5 s render.
    assert 9_900 <= hint(State.RUNNING, 5, waited=40, rendering=38) <= 10_100
    assert hint(State.RUNNING, 5, waited=400, rendering=390) == 20_000
    # Half done after 4 s: about 4 s left, next look in about 2 s.
    assert 1_900 <= hint(State.RUNNING, 45, waited=9, rendering=4) <= 2_100
    assert hint(State.RUNNING, 84, waited=9, rendering=4) == 200
    assert hint(State.FINISHING, 90, waited=9, rendering=4) == 500
    finishing = make_generation(user, state=State.FINISHING, progress=94)
    Generation.objects.filter(pk=finishing.pk).update(updated_at=now - timedelta(seconds=12))
    finishing.refresh_from_db()
    assert 2_900 <= (poll_after_ms(finishing) or 0) <= 3_100  # finishing waits its turn
    assert hint(State.SUCCEEDED, 100, waited=9, rendering=4) is None
