"""A lock per source and window, so two workers never fetch the same thing at once.

It lives in the cache (Redis in production: `cache.add` is an atomic SET NX with an
expiry). It saves work and spares the source; correctness does not depend on it: the
unique arXiv id and the upsert make a duplicate run harmless. It expires after the
longest a task may run, so a worker killed while holding it can't block the source.
"""

import contextlib
import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache


def _key(name: str) -> str:
    return "ingest-lock:" + hashlib.sha1(name.encode()).hexdigest()


@contextlib.contextmanager
def source_lock(name: str, timeout: int | None = None):
    """Yields True if this caller holds the lock, False if someone else does."""
    key, token = _key(name), uuid.uuid4().hex
    acquired = cache.add(key, token, timeout or settings.CELERY_TASK_TIME_LIMIT)
    try:
        yield acquired
    finally:
        # Release only our own lock (it may have expired and been taken since).
        if acquired and cache.get(key) == token:
            cache.delete(key)
