"""arXiv's limit (one request at a time, ARXIV_REQUEST_INTERVAL seconds apart) holds for
the whole site: across clients, threads and processes through Redis, and across a
process's threads without Redis (the embedded default)."""

import os
import subprocess
import sys
import threading
import time

import pytest

from ingest import arxiv, oai

from .conftest import ROOT
from .recorded_http import RecordedServer

INTERVAL = 0.3
EMPTY = "arxiv-api/2026/id_0000.0000_s0_m100_8b51d9633a68.xml"


@pytest.fixture
def arxiv_api(settings):
    with RecordedServer() as server:
        server.add("/api/query", file=EMPTY)
        settings.ARXIV_API_URL = f"{server.url}/api/query"
        settings.ARXIV_REQUEST_INTERVAL = INTERVAL
        yield server


def gaps(requests) -> list[float]:
    times = sorted(r.at for r in requests)
    return [later - earlier for earlier, later in zip(times, times[1:], strict=False)]


def fetch(settings, who, count=3, client=arxiv.client, ready=None):
    with client() as http:
        if ready:
            ready.wait()
        for n in range(count):
            http.get(settings.ARXIV_API_URL, params={"who": who, "n": str(n)})


@pytest.mark.parametrize("backend", ["redis", "in-process"])
def test_two_clients_in_threads_keep_the_interval_between_them(arxiv_api, settings, backend):
    if backend == "in-process":
        settings.REDIS_URL = ""
    # An API fetch and an OAI client (another source, the same host here) at once.
    ready = threading.Barrier(2)
    threads = [
        threading.Thread(target=fetch, args=(settings, "api", 3, arxiv.client, ready)),
        threading.Thread(target=fetch, args=(settings, "oai", 3, oai.client, ready)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    requests = arxiv_api.requests_to("/api/query")
    assert len(requests) == 6
    assert min(gaps(requests)) >= INTERVAL
    # In turn, in order of arrival: a long harvest can't starve anyone else. While both
    # clients are waiting they alternate. (The first may have had a turn or two before
    # the other one asked, and once one is done the other goes on alone.)
    order = [r.params["who"] for r in sorted(requests, key=lambda r: r.at)]
    both_asking = max(order.index(who) for who in ("api", "oai"))
    one_done = min(len(order) - 1 - order[::-1].index(who) for who in ("api", "oai"))
    taking_turns = order[both_asking : one_done + 1]
    assert len(taking_turns) >= 2, order
    assert all(a != b for a, b in zip(taking_turns, taking_turns[1:], strict=False)), order


OTHER_PROCESS = """
import sys
import django

django.setup()
from django.conf import settings
from ingest import arxiv

print("ready", flush=True)
sys.stdin.readline()
with arxiv.client() as http:
    for n in range(3):
        http.get(settings.ARXIV_API_URL, params={"who": "other process", "n": str(n)})
"""


def test_a_client_in_another_process_waits_its_turn(arxiv_api, settings):
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ARXIV_API_URL": settings.ARXIV_API_URL,
        "ARXIV_REQUEST_INTERVAL": str(INTERVAL),
        "REDIS_URL": settings.REDIS_URL,
    }
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert other.stdout.readline().strip() == "ready"
        other.stdin.write("go\n")
        other.stdin.flush()
        fetch(settings, "this process")
        assert other.wait(30) == 0
    finally:
        other.kill()

    requests = arxiv_api.requests_to("/api/query")
    assert len(requests) == 6
    assert min(gaps(requests)) >= INTERVAL
    order = [r.params["who"] for r in sorted(requests, key=lambda r: r.at)]
    assert order not in (sorted(order), sorted(order, reverse=True)), order


def test_a_host_without_an_interval_is_not_held(arxiv_api, settings):
    settings.ARXIV_REQUEST_INTERVAL = 0
    threads = [threading.Thread(target=fetch, args=(settings, who, 2)) for who in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    requests = arxiv_api.requests_to("/api/query")
    assert len(requests) == 4
    assert sum(gaps(requests)) < INTERVAL


def test_a_waiter_that_stopped_asking_loses_its_place(arxiv_api, settings):
    import redis

    # A worker killed while it waited: first in the queue, last seen ten seconds ago.
    key = f"dp:throttle:{arxiv_api.url.split('://')[1]}"
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.zadd(f"{key}:queue", {"killed-worker": 0})
    client.zadd(f"{key}:seen", {"killed-worker": 0})

    started = time.monotonic()
    fetch(settings, "alive", count=1)

    assert time.monotonic() - started < 1
    assert len(arxiv_api.requests_to("/api/query")) == 1
    assert not client.zscore(f"{key}:queue", "killed-worker")
