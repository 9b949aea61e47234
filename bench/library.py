#!/usr/bin/env python
"""What the library's pages cost at scale: a library of 5,000 saved papers and a
collection of 1,000, on a seeded database (bench/seed.py).

    python bench/library.py [--database NAME] [--saved 5000] [--collection 1000] [--runs 15]
                            [--cold-cards]

In one transaction that is rolled back at the end (the seeded database is left as it
was), it gives a user --saved saved papers (a third marked read) and a public collection
of --collection papers, then requests each page through Django's test client, in
process (no HTTP, no page cache: these pages are per user), --runs times: it prints the
queries per request, the p50 of the time spent in SQL (as Django's cursor sees it), the
same statements' time in PostgreSQL (EXPLAIN ANALYZE, planning included), the p50 of
this process's CPU time (the Python side: views, templates) and of the wall time, and
the p90 wall time. The machine's load average is printed with them: wall times on a
busy machine say more about the machine than the page. Cards come from the card cache
(papers.cards, Redis at REDIS_URL) after the first request; with --cold-cards every
request renders every card, as the first visit after a deploy does. The pages are
paginated (30 saved papers, 50 collection items a page); the exports carry every paper.
"""

import argparse
import os
import statistics
import sys
import time

from seed import ROOT, in_process_settings


class Rollback(Exception):
    pass


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dp_bench_1m")
    parser.add_argument("--saved", type=int, default=5000)
    parser.add_argument("--collection", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--cold-cards", action="store_true", help="render every card on every request"
    )
    parser.add_argument("--profile", help="a page's name to profile (cProfile, top 30)")
    parser.add_argument(
        "--pages", help="only the pages whose name contains one of these (comma-separated)"
    )
    args = parser.parse_args(argv)

    in_process_settings(args.database, LIBRARY_SAVE_RATE_LIMIT="1000000/m")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection, transaction

    try:
        with transaction.atomic():
            run(args)
            raise Rollback
    except Rollback:
        pass
    print("(rolled back: the database is as it was)")
    del connection


def run(args):
    from django.test import Client

    user, collection, word = set_up(args)
    measure(args, user, collection, word, Client)


def set_up(args):
    """The bench user, with --saved saved papers and a public collection of
    --collection; and a word from a saved paper's title to search for."""
    import datetime as dt
    import random

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from library.models import Collection, CollectionItem, SavedPaper
    from papers.models import Paper

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM papers_paper")
        total = cursor.fetchone()[0]
    print(f"database: {connection.settings_dict['NAME']}, {total:,} papers")
    if total < args.saved:
        sys.exit(f"Seed at least {args.saved} papers first (bench/seed.py).")

    started = time.perf_counter()
    user = User.objects.create_user("bench-library", "bench-library@example.org", "x")
    rng = random.Random(15)
    # Spread over the whole table: ids sampled from its range, visible papers only.
    top = Paper.objects.order_by("-id").values_list("id", flat=True).first()
    ids = set()
    while len(ids) < args.saved:
        batch = rng.sample(range(1, top + 1), min(args.saved * 2, top))
        ids.update(
            Paper.objects.visible()
            .filter(pk__in=batch)
            .values_list("pk", flat=True)[: args.saved - len(ids)]
        )
    ids = sorted(ids)
    rng.shuffle(ids)
    now = timezone.now()
    SavedPaper.objects.bulk_create(
        SavedPaper(
            user=user,
            paper_id=pk,
            saved_at=now - dt.timedelta(minutes=i),
            read_at=now if i % 3 == 0 else None,
        )
        for i, pk in enumerate(ids)
    )
    collection = Collection.objects.create_named(user, "Bench collection", visibility="public")
    CollectionItem.objects.bulk_create(
        CollectionItem(collection=collection, paper_id=pk, position=i, note="", note_html="")
        for i, pk in enumerate(ids[: args.collection])
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE library_savedpaper")
        cursor.execute("ANALYZE library_collectionitem")
    word = Paper.objects.filter(pk=ids[0]).values_list("title", flat=True).get().split()[0]
    print(
        f"set-up: {args.saved:,} saved, a collection of {args.collection:,} "
        f"({time.perf_counter() - started:.1f} s)\n"
    )
    return user, collection, word


def measure(args, user, collection, word, Client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from papers import cards

    client = Client()
    client.force_login(user)
    base = collection.get_absolute_url()
    pages = [
        ("/new/ (for comparison)", "/new/"),
        ("library, page 1", "/library/"),
        ("library, page 100", "/library/?page=100"),
        ("library, unread + cs.*", "/library/?unread=on&cat=cs.*"),
        ("library, has code", "/library/?code=on"),
        (f"library, search {word!r}", f"/library/?q={word}"),
        ("collection, page 1", base),
        ("collection, page 20", f"{base}?page=20"),
        ("collection, anonymous", base),
        ("collection API", f"/api/collections/bench-library/{collection.slug}"),
        ("collection .bib (1,000)", f"{base.rstrip('/')}.bib"),
        ("library .bib (5,000)", "/library/export.bib"),
        ("library .ris (5,000)", "/library/export.ris"),
    ]
    anonymous = Client()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{'page':<30} {'status':>6} {'queries':>7} {'SQL ms':>7} {'DB ms':>7} {'CPU ms':>7} "
        f"{'p50 ms':>8} {'p90 ms':>8}"
    )
    for name, url in pages:
        if args.pages and not any(part in name for part in args.pages.split(",")):
            continue
        who = anonymous if "anonymous" in name or "API" in name else client
        who.get(url)  # warm Python's side (templates, imports), not the data
        times, sql, cpu = [], [], []
        for _ in range(args.runs):
            if args.cold_cards:
                cards.forget()
            with CaptureQueriesContext(connection) as queries:
                start, start_cpu = time.perf_counter(), time.process_time()
                response = who.get(url)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            sql.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
        times.sort()
        count = len(queries)
        server = server_ms(connection, queries.captured_queries)
        if args.profile and args.profile in name:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(who.get, url)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
        print(
            f"{name:<30} {response.status_code:>6} {count:>7} "
            f"{statistics.median(sql):>7.1f} {server:>7.1f} {statistics.median(cpu):>7.1f} "
            f"{statistics.median(times):>8.1f} {p90:>8.1f}"
        )


def server_ms(connection, queries) -> float:
    """The last request's statements as PostgreSQL times them (EXPLAIN ANALYZE's
    execution times, summed, best of three): the database's share of the page, without
    the waits for a CPU that "SQL ms" includes on a busy machine."""
    total = 0.0
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            best = None
            for _ in range(3):
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0]
                plan = plan[0] if isinstance(plan, list) else plan
                took = plan["Execution Time"] + plan.get("Planning Time", 0)
                best = took if best is None else min(best, took)
            total += best
    return total


if __name__ == "__main__":
    main()
