#!/usr/bin/env python
"""Where each endpoint's time goes in the database: its SQL, timed, and the plans.

    python bench/explain.py [--database NAME] [--only NAME] [--slower-than MS]

Requests every endpoint of bench/load.py's table once through Django's test client
(in-process, against the seeded database, cache cleared), captures its queries
(CaptureQueriesContext) and prints, per endpoint, the number of queries and their
time; then EXPLAIN (ANALYZE, BUFFERS) for every query slower than --slower-than ms
(default 5). Read-only except for the vote endpoint, which adds then removes a vote.
"""

import argparse
import os
import sys
import time

from load import ENDPOINTS, OUT, server_env
from seed import ROOT


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dp_bench_1m")
    parser.add_argument("--only", action="append", help="endpoints whose name contains this")
    parser.add_argument("--slower-than", type=float, default=5.0, help="ms; EXPLAIN those")
    args = parser.parse_args(argv)

    import json

    meta = json.loads((OUT / f"{args.database}.json").read_text())
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"
    env = server_env(args.database, 8000, redis_url)
    env["ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    user = get_user_model().objects.filter(username__startswith="bench").order_by("pk").first()
    slow = []
    print(f"{'endpoint':<24} {'status':>6} {'queries':>7} {'SQL ms':>8} {'total ms':>9}  path")
    for endpoint in ENDPOINTS:
        if "ceiling" in endpoint.name or (
            args.only and not any(o in endpoint.name for o in args.only)
        ):
            continue
        client = Client()
        if endpoint.signed_in:
            client.force_login(user)
        paths = endpoint.paths(meta)
        if endpoint.vote:
            path = f"/papers/{paths[0]}/vote/"
            calls = [("post", path, {"action": "up"}), ("post", path, {"action": "remove"})]
        else:
            calls = [("get", paths[0], None)]
        for method, path, data in calls:
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                # Uncached: the page cache would answer the second endpoint on "/".
                headers = {"HX-Request": "true", "X-Bench-Page-Cache": "off"}
                response = getattr(client, method)(path, data, headers=headers)
                total = (time.perf_counter() - started) * 1000
            sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
            label = endpoint.name + (f" ({data['action']})" if data else "")
            print(
                f"{label:<24} {response.status_code:>6} {len(queries):>7} {sql_ms:>8.1f} "
                f"{total:>9.1f}  {method.upper()} {path}"
            )
            for q in queries.captured_queries:
                if float(q["time"]) * 1000 >= args.slower_than:
                    slow.append((label, float(q["time"]) * 1000, q["sql"]))

    with connection.cursor() as cursor:
        for label, ms, sql in slow:
            print(f"\n--- {label}: {ms:.1f} ms\n{sql}\n")
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            for (line,) in cursor.fetchall():
                print("    " + line)


if __name__ == "__main__":
    main()
