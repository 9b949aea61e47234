"""Django's Redis cache backend, keeping one Redis client per connection pool.

django.core.cache.backends.redis builds a new redis.Redis for every cache call, and
redis-py's constructor fills a table of ~170 response callbacks each time: about a
quarter of a millisecond per call, the largest single cost of serving a page from
the page cache (papers.pagecache). A client is only a handle on its pool (thread-safe,
and the pool reconnects after a fork), so one per pool serves every call the same.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
