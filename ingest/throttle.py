"""One request at a time to a host, site-wide, with a pause after each, in turn.

arXiv's terms: no more than one request every three seconds, on a single connection.
Several things ask arXiv at once (the periodic fetch, the enrichment of Hugging Face's
papers, each user's submission, an OAI backfill, a management command), each in its
own process and with its own client, so the pause must be kept across all of them. It
is kept in Redis, per host:

    <host>          absent: free; a token: a request is in flight (its lease outlasts
                    the longest request, so a worker killed mid-request blocks the host
                    for a while, not forever); "rest": the pause after a response, its
                    PTTL what is left of it
    <host>:queue    waiters in order of arrival (a sorted set), so a long backfill
                    can't starve a user's submission: each request queues anew
    <host>:seen     when each waiter last asked: one that stopped asking (killed while
                    waiting) is dropped from the queue

The head of the queue takes the host with SET NX PX, sends its request, then turns its
own key into "rest" for `interval` seconds. The next request therefore starts at least
`interval` after the previous response. Without Redis (the embedded default: one
process) a condition variable and a queue in the process do the same.
"""

import collections
import contextlib
import threading
import time
import uuid

import redis
from django.conf import settings

# While a request is in flight, or while others are ahead, waiters ask again this often.
POLL = 0.1

# KEYS: the host's key, its queue, its seen set. ARGV: token, lease, poll, stale (ms).
# 0 if the caller now holds the host, else the milliseconds (at least 1) to wait before
# asking again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale = tonumber(ARGV[4])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - stale)) do
    redis.call('ZREM', KEYS[2], gone)
    redis.call('ZREM', KEYS[3], gone)
end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[1])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('PEXPIRE', KEYS[2], 2 * stale)
redis.call('PEXPIRE', KEYS[3], 2 * stale)
if redis.call('ZRANGE', KEYS[2], 0, 0)[1] ~= ARGV[1] then
    return tonumber(ARGV[3])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
    return 0
end
-- A key about to expire reads as 0 ms left: still wait (1 ms), never answer 0.
local ttl = math.max(redis.call('PTTL', KEYS[1]), 1)
if redis.call('GET', KEYS[1]) == 'rest' then
    return ttl
end
return math.min(ttl, tonumber(ARGV[3]))
"""
# KEYS: the host's key. ARGV: token, interval (ms). The pause starts, if the lease is
# still ours (it may have expired during a very slow request and been taken since).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('SET', KEYS[1], 'rest', 'PX', ARGV[2])
    return 1
end
return 0
"""

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def _redis():
    url = settings.REDIS_URL
    with _clients_lock:
        if url not in _clients:
            client = redis.Redis.from_url(url)
            _clients[url] = (
                client,
                client.register_script(_ACQUIRE),
                client.register_script(_RELEASE),
            )
        return _clients[url]


def _lease() -> float:
    # A request may take its timeout to connect, then to each read: the lease covers a
    # slow one, and a lost one costs this much waiting at most.
    return max(2 * settings.INGEST_HTTP_TIMEOUT, 30.0)


@contextlib.contextmanager
def _redis_turn(host: str, interval: float):
    _, acquire, release = _redis()
    key, token = f"dp:throttle:{host}", uuid.uuid4().hex
    keys = [key, f"{key}:queue", f"{key}:seen"]
    # A waiter sleeps at most `interval` (the pause) between two questions.
    stale_ms = int((interval + 10 * POLL) * 1000) + 1000
    args = [token, int(_lease() * 1000), int(POLL * 1000), stale_ms]
    try:
        while wait := acquire(keys=keys, args=args):
            time.sleep(int(wait) / 1000)
    except BaseException:
        # Interrupted while waiting (a time limit): leave the queue at once.
        client = _redis()[0]
        client.zrem(keys[1], token)
        client.zrem(keys[2], token)
        raise
    try:
        yield
    finally:
        release(keys=[key], args=[token, max(int(interval * 1000), 1)])


class _LocalTurns:
    def __init__(self):
        self.changed = threading.Condition()
        self.queue: collections.deque = collections.deque()
        self.busy = False
        self.rest_until = 0.0


_local: dict[str, _LocalTurns] = {}
_local_lock = threading.Lock()


@contextlib.contextmanager
def _local_turn(host: str, interval: float):
    with _local_lock:
        turns = _local.setdefault(host, _LocalTurns())
    me = object()
    with turns.changed:
        turns.queue.append(me)
        try:
            while True:
                if turns.queue[0] is me and not turns.busy:
                    pause = turns.rest_until - time.monotonic()
                    if pause <= 0:
                        break
                    turns.changed.wait(pause)
                else:
                    turns.changed.wait()
        except BaseException:
            turns.queue.remove(me)
            turns.changed.notify_all()
            raise
        turns.queue.popleft()
        turns.busy = True
    try:
        yield
    finally:
        with turns.changed:
            turns.busy = False
            turns.rest_until = time.monotonic() + interval
            turns.changed.notify_all()


@contextlib.contextmanager
def turn(host: str, interval: float):
    """Hold the host for one request: wait for the one in flight and the pause after
    it, then keep `interval` seconds after this request ends before the next."""
    if interval <= 0:
        yield
        return
    holder = _redis_turn if settings.REDIS_URL else _local_turn
    with holder(host, interval):
        yield
