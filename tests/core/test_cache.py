"""Studio's Redis cache backend: Django's, with one ``redis.Redis`` per connection pool
instead of a new one per operation. Against a real Redis server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from django.conf import settings

from core.cache import StudioRedisCache


@pytest.fixture
def cache() -> StudioRedisCache:
    url = settings.CELERY_RESULT_BACKEND or ""
    if not url.startswith("redis://"):
        pytest.skip("needs Redis (CELERY_RESULT_BACKEND=redis://...)")
    return StudioRedisCache(url, {"KEY_PREFIX": f"test-cache-{uuid.uuid4().hex}"})


def test_it_behaves_as_djangos_redis_cache(cache: StudioRedisCache) -> None:
    cache.set("a", {"n": 1}, 30)
    assert cache.get("a") == {"n": 1}
    assert cache.add("a", 2) is False
    assert cache.add("counter", 0) is True
    assert cache.incr("counter") == 1
    cache.set_many({"b": 2, "c": 3})
    assert cache.get_many(["a", "b", "c", "missing"]) == {"a": {"n": 1}, "b": 2, "c": 3}
    cache.delete("a")
    assert cache.get("a", "gone") == "gone"
    cache.set("short", 1, 0)  # a zero timeout stores nothing, as in Django
    assert cache.get("short") is None


def test_operations_reuse_one_client(cache: StudioRedisCache, monkeypatch: Any) -> None:
    cache.set("warm", 1, 30)
    built: list[object] = []
    original = redis.Redis.__init__

    def counting(self: redis.Redis, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    for i in range(20):
        cache.set(f"k{i}", i, 30)
        assert cache.get(f"k{i}") == i
    assert built == []
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
