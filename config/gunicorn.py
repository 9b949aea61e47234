"""gunicorn settings for web processes (make serve, bench/load.py)."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("WEB_THREADS", 1))
timeout = int(os.environ.get("WEB_TIMEOUT", 30))
max_requests = 5000
max_requests_jitter = 500
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
    """Load the sentence model in the background once the worker is up (only where
    vectors exist), so the first search by meaning does not wait for it."""
    from semantic.hybrid import warm_up

    warm_up()
