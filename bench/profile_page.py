#!/usr/bin/env python
"""What a profile page (/u/<username>/) costs in the database, tab by tab.

    python bench/profile_page.py [--database NAME] [--user USERNAME] [--plans]

Requests each tab of one user's profile through Django's test client (anonymous, in
process, against a seeded database), captures its queries and prints, per tab, the
number of queries and their time; then each query's EXPLAIN ANALYZE execution time
(best of three, so a warm cache) and, with --plans, the plans. Without --user it picks
the user with the most votes, the costliest "Upvoted" tab.

Read-only: every connection is opened with default_transaction_read_only, so a stray
write fails instead of changing a benchmark database someone else is using.
"""

import argparse
import re
import sys

from seed import ROOT, in_process_settings

TABS = ("upvoted", "submitted", "authored")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dp_bench_1m")
    parser.add_argument("--user", help="username (default: the user with the most votes)")
    parser.add_argument("--plans", action="store_true", help="print every query's plan")
    args = parser.parse_args(argv)

    in_process_settings(args.database)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["options"] = "-c default_transaction_read_only=on"

    with connection.cursor() as cursor:
        if args.user:
            username = args.user
        else:
            cursor.execute(
                "SELECT u.username, count(*) FROM papers_vote v"
                " JOIN accounts_user u ON u.id = v.user_id"
                " GROUP BY u.username ORDER BY 2 DESC, 1 LIMIT 1"
            )
            username, votes = cursor.fetchone()
            print(f"user {username} ({votes} votes)")

    client = Client()
    explained = []
    print(f"{'tab':<10} {'status':>6} {'queries':>7} {'SQL ms':>8}")
    for tab in TABS:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/u/{username}/", {"show": tab})
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        print(f"{tab:<10} {response.status_code:>6} {len(queries):>7} {sql_ms:>8.1f}")
        explained += [(tab, q["sql"]) for q in queries.captured_queries]

    print(f"\n{'tab':<10} {'exec ms':>8}  query")
    with connection.cursor() as cursor:
        for tab, sql in explained:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            best, plan = None, []
            for _ in range(3):
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = [line for (line,) in cursor.fetchall()]
                ms = float(re.search(r"Execution Time: ([\d.]+)", plan[-1])[1])
                best = ms if best is None else min(best, ms)
            print(f"{tab:<10} {best:>8.2f}  {' '.join(sql.split())[:110]}")
            if args.plans:
                print("\n".join("      " + line for line in plan) + "\n")


if __name__ == "__main__":
    main()
