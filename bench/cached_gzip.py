#!/usr/bin/env python
"""What gzip costs a page-cache hit: the daily page from the cache, plain and gzipped.

    python bench/cached_gzip.py [--requests 400] [--rounds 3]

In process (Django's test client, no server or network), against the database in
DATABASE_URL and the cache in REDIS_URL with the demo loaded (`manage.py load_demo`).
Prints, per round, the median time and the bytes of a cached hit without and with
`Accept-Encoding: gzip` (papers/pagegzip.py builds the gzipped ones).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-cached-gzip-not-for-production")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["LOG_LEVEL"] = "ERROR"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test import Client

    client = Client()

    def median(headers):
        client.get("/", **headers)  # fills the cache
        times = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = client.get("/", **headers)
            times.append(time.perf_counter() - start)
        times.sort()
        return times[len(times) // 2] * 1000, len(response.content), response["X-Page-Cache"]

    for _ in range(args.rounds):
        for label, headers in (("plain", {}), ("gzip", {"HTTP_ACCEPT_ENCODING": "gzip"})):
            ms, size, state = median(headers)
            print(f"daily page from the cache ({state}), {label:5}: p50 {ms:.2f} ms, {size} bytes")


if __name__ == "__main__":
    main()
