"""Benchmark: "did you mean"'s lookup (search.spelling.LOOKUP) at scale.

    .venv/bin/python bench/spelling_lookup.py --database dp_bench_1m

In one transaction that is rolled back (the benchmark database is shared and left as it
was): pg_trgm, the title vocabulary (search.SearchWord's table, filled as
SearchWord.objects.rebuild() does) and its trigram index are created, then each query's
words are looked up with LOOKUP, one statement for all of them, with and without the
full-text probe, and the plan is checked for the two GIN indexes. Prints the best of 5
(ms, wall clock: note the machine's load) and the words read by the trigram index scan.
"""

import argparse
import importlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# The lookup as it was, a statement per word at the word's own threshold (for comparison).
PER_WORD = (
    "SELECT word, papers FROM search_searchword WHERE word %% %s "
    "AND to_tsvector('english', word) <> to_tsvector('english', %s) "
    "ORDER BY papers DESC, similarity(word, %s) DESC LIMIT %s"
)

QUERIES = [
    "tranformer",
    "netwrok",
    "modle",
    "difusion modle",
    "grpah nueral netwroks",
    "lerning atention tranformer difusion netwrok modle",
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="dp_bench_1m")
    args = parser.parse_args()
    import psycopg

    url = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/")
    import django

    # Settings only to import search.spelling (no Django connection is used).
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("SITE_URL", "http://localhost")
    django.setup()
    from search import spelling

    with psycopg.connect(url + args.database, autocommit=False) as conn:
        cur = conn.cursor()
        try:
            started = time.perf_counter()
            cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cur.execute("CREATE TABLE search_searchword (word varchar(64) PRIMARY KEY, papers int)")
            cur.execute(
                "INSERT INTO search_searchword (word, papers) SELECT word, ndoc FROM ts_stat("
                "'SELECT to_tsvector(''simple'', title) FROM papers_paper WHERE NOT is_hidden') "
                "WHERE word ~ '^[[:alpha:]]{3,64}$'"
            )
            words = cur.rowcount
            cur.execute(importlib.import_module("search.migrations.0001_search_words").INDEX)
            cur.execute("ANALYZE search_searchword")
            print(f"vocabulary: {words} words in {time.perf_counter() - started:.1f} s")
            sql = spelling.LOOKUP  # psycopg's placeholders, as Django passes it
            for query in QUERIES:
                candidates = spelling._candidates(query)
                for probe in (False, True):
                    params = spelling.lookup_params(candidates, probe)
                    best = float("inf")
                    for _ in range(5):
                        t = time.perf_counter()
                        cur.execute(sql, params)
                        cur.fetchall()
                        best = min(best, time.perf_counter() - t)
                    rows = cur.fetchall() if cur.execute(sql, params) else []
                    cur.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + sql, params)
                    plan = "\n".join(r[0] for r in cur.fetchall())
                    uses = "search_word_trigram" in plan
                    uses = uses and "Seq Scan on search_searchword" not in plan
                    full_text = "paper_search" in plan and "Seq Scan on papers_" not in plan
                    print(
                        f"{query!r:55} probe={probe!s:5} {best * 1000:7.1f} ms  "
                        f"trigram index: {uses}  full-text index: {full_text if probe else '-'}  "
                        f"candidates: {len(rows)}"
                    )
                best = float("inf")
                for _ in range(5):
                    t = time.perf_counter()
                    for word in candidates:
                        threshold = spelling.similarity_threshold(len(word))
                        cur.execute(f"SET LOCAL pg_trgm.similarity_threshold = {threshold:.3f}")
                        cur.execute(PER_WORD, [word, word, word, spelling.CANDIDATES])
                        cur.fetchall()
                    best = min(best, time.perf_counter() - t)
                print(f"{'':55} a statement per word (before) {best * 1000:7.1f} ms")
        finally:
            conn.rollback()


if __name__ == "__main__":
    main()
