"""Django's Redis cache, without building a new ``redis.Redis`` for every operation.

Django's ``RedisCacheClient.get_client`` makes a fresh client object around the pooled
connection on each ``get``/``set``; ``redis.Redis.__init__`` fills a case-insensitive table
of some 170 response callbacks each time, which was about a third of a millisecond of CPU
per job-card poll (two cache reads: the session and the signed-in user). A client is
thread-safe and holds no connection of its own, so one per pool is enough.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis import Redis


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Redis:
        django_client: Any = self  # its pool helpers are private, so untyped in the stubs
        index = django_client._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = django_client._get_connection_pool(write)
            client = self._clients[index] = django_client._client(connection_pool=pool)
        return client


class StudioRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
