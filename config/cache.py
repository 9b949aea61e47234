"""The Redis cache: one Redis client per connection pool, and no error pages while Redis
is unreachable.

django.core.cache.backends.redis builds a new redis.Redis for every cache call, and
redis-py's constructor fills a table of ~170 response callbacks each time: about a
quarter of a millisecond per call, the largest single cost of serving a page from
the page cache (papers.pagecache). A client is only a handle on its pool (thread-safe,
and the pool reconnects after a fork), so one per pool serves every call the same.

Django's RedisCache raises on a refused or timed-out connection, which would turn every
page that reads the cache (and every rate limit) into a 500 while Redis restarts. Here
an unreachable Redis is logged and behaves like a cache that keeps nothing: reads miss
(the default), writes are dropped, `add` succeeds (the key wasn't there) and `incr`
returns None. So what uses the cache as a lock or a counter lets the request through
rather than refusing everyone: allauth's rate-limit lock and django-ratelimit (whose
count then stays at one) and the ingestion source lock (ingest/locks.py, which
correctness does not rely on). Errors that are not about reaching Redis (a bad command,
a missing key for `incr`) still raise. Short socket timeouts (settings.CACHES OPTIONS)
keep a hung Redis from holding a web worker.
"""

import functools
import logging
import time

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


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


log = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
# One warning per this many seconds per process, not one per request.
LOG_EVERY = 10.0


def _degrade(fallback):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except UNREACHABLE as exc:
                self._log_unreachable(method.__name__, exc)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _default(key, default=None, *args, **kwargs):
    return default


def _returns(value):
    return lambda *args, **kwargs: value() if callable(value) else value


class ResilientRedisCache(RedisCache):
    _last_warning = 0.0

    def _log_unreachable(self, operation, exc):
        now = time.monotonic()
        if now - ResilientRedisCache._last_warning >= LOG_EVERY:
            ResilientRedisCache._last_warning = now
            log.warning("Redis cache unreachable (%s: %s): serving without cache", operation, exc)

    get = _degrade(_default)(RedisCache.get)
    get_many = _degrade(_returns(dict))(RedisCache.get_many)
    has_key = _degrade(_returns(False))(RedisCache.has_key)
    add = _degrade(_returns(True))(RedisCache.add)
    set = _degrade(_returns(None))(RedisCache.set)
    set_many = _degrade(_returns(list))(RedisCache.set_many)
    touch = _degrade(_returns(False))(RedisCache.touch)
    delete = _degrade(_returns(False))(RedisCache.delete)
    delete_many = _degrade(_returns(None))(RedisCache.delete_many)
    incr = _degrade(_returns(None))(RedisCache.incr)
    clear = _degrade(_returns(False))(RedisCache.clear)
