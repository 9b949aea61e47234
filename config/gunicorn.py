"""gunicorn settings for web processes (make serve, bench/load.py)."""

import gc
import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("WEB_THREADS", 1))
timeout = int(os.environ.get("WEB_TIMEOUT", 30))
# A worker is replaced after this many requests (a slow leak can't grow for ever). Each
# replacement costs a second or more of CPU (Django, the model, the index), so the
# number is set for a worker answering cached pages at ~700 req/s: at 5,000 one was
# replaced every few seconds under load.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", 50_000))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
# No SQL statement from a web request may hold a worker for long (a cancelled one ends
# in config.middleware.QueryTimeoutMiddleware's 503 page), and none takes more than its
# own core: parallel query workers would compete with the other web workers.
raw_env = [
    f"DATABASE_STATEMENT_TIMEOUT={os.environ.get('DATABASE_STATEMENT_TIMEOUT', '3000')}",
    f"DATABASE_PARALLEL_WORKERS={os.environ.get('DATABASE_PARALLEL_WORKERS', '0')}",
    # A query's embedding is short work: one thread per web worker (semantic/).
    f"EMBEDDING_THREADS={os.environ.get('EMBEDDING_THREADS', '1')}",
]


def post_worker_init(worker):
    """Load the sentence model (only where vectors exist) before the worker takes its
    first request: the first search by meaning doesn't wait for it, and no request
    waits behind it (loaded beside requests, it held some up to a second)."""
    from semantic.hybrid import warm_up

    warm_up(wait=True)
    # Everything loaded so far (Django, the URL resolver, templates, the model) lives as
    # long as the worker: moved out of the collector's generations, a full collection
    # no longer walks it (Python's gc.freeze(), as the docs suggest for pre-fork servers).
    gc.collect()
    gc.freeze()
