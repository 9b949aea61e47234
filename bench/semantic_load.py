#!/usr/bin/env python
"""Search by meaning at scale, on a seeded database with vectors (bench/seed.py).

    python bench/semantic_load.py [--database dp_bench_1m] [--runs 60] [--recall-queries 100]

In process, through Django's test client (no HTTP), each request with nothing cached
(every search a new query, every related list a new paper), it prints p50 and p95 of:

- hybrid search: GET /search/?q=<a query of the evaluation set> (full-text top 50 +
  vector top 50, fused), the query's embedding included, and hybrid.search() alone
  (the ranking without the page);
- related papers: GET /papers/<id>/related/ (stored vectors, no model call);
- "For you": GET /for-you/ as seeded users with upvotes (the recent window's vectors
  cached in the process, as in a running worker; the first request's load is printed);
- recall@10 of the index against an exact scan of every stored vector, at the served
  search depth (semantic.index.EXPANSION_SEARCH) and at half and twice it;
- the index file's size (and per million vectors), and the process's memory.

The index is built (semantic.index.rebuild) into --index-dir (var/bench-index/DATABASE,
where bench/load.py builds it too) unless one of the current model is there. Nothing is
written to the database. bench/seed.py --vectors-only adds vectors to a database seeded
without them.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from seed import ROOT, in_process_settings, index_dir

QUERIES = ROOT / "bench" / "data" / "search_eval" / "queries.jsonl"


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def line(label, seconds):
    ms = [s * 1000 for s in seconds]
    return (
        f"  {label:44s} p50 {statistics.median(ms):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms"
        f"  (n={len(ms)})"
    )


def memory() -> str:
    fields = {}
    for row in open("/proc/self/status"):
        key, _, value = row.partition(":")
        fields[key] = value.strip()
    private = 0
    for row in open("/proc/self/smaps_rollup"):
        if row.startswith(("Private_Clean", "Private_Dirty")):
            private += int(row.split()[1])
    mib = {k: int(fields[k].split()[0]) // 1024 for k in ("VmRSS", "RssAnon", "RssFile")}
    # RssFile: mapped files (libraries, the index), shared with every process mapping
    # them; "private" counts a file's pages too while no other process maps it.
    return (
        f"RSS {mib['VmRSS']} MiB: anonymous {mib['RssAnon']} MiB, mapped files "
        f"{mib['RssFile']} MiB (private {private // 1024} MiB)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="dp_bench_1m")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--recall-queries", type=int, default=100)
    parser.add_argument(
        "--index-dir", help="where the index is built (default var/bench-index/DATABASE)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the index even if present")
    args = parser.parse_args(argv)
    # One folder per database, shared with bench/load.py: an index is built once.
    args.index_dir = args.index_dir or str(index_dir(args.database))
    in_process_settings(
        args.database,
        SEMANTIC_INDEX_DIR=args.index_dir,
        # A web worker's setting: one query at a time on one core.
        EMBEDDING_THREADS=os.environ.get("EMBEDDING_THREADS", "1"),
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    run(args)


def run(args):
    import datetime as dt

    import numpy as np
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from papers.models import Paper, Vote
    from semantic import encoder, hybrid, index
    from semantic.models import PaperEmbedding
    from semantic.recommend import recommend_for

    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    key = encoder.model_key()
    stored = PaperEmbedding.objects.current(key).count()
    papers = Paper.objects.count()
    print(f"{args.database}: {papers:,} papers, {stored:,} vectors of {key}")
    if not stored:
        raise SystemExit("No vectors: bench/seed.py --vectors-only --database " + args.database)

    meta = index.read_meta()
    if args.rebuild or not meta or meta["model_key"] != key:
        started = time.perf_counter()
        built = index.rebuild(key)
        print(f"index built: {built.count:,} vectors in {time.perf_counter() - started:.0f} s")
        meta = index.read_meta()
    size = (Path(args.index_dir) / meta["file"]).stat().st_size
    print(
        f"index: {meta['count']:,} vectors, {size / 2**20:,.0f} MiB "
        f"({size / max(meta['count'], 1) * 1e6 / 2**20:,.0f} MiB per million)"
    )

    client = Client()
    rng = random.Random(7)
    queries = [json.loads(row)["query"] for row in QUERIES.open()]
    # A query is embedded once and cached: each run here is a query not seen before.
    variants = [f"{q} {w}" for w in ("", "methods", "results", "survey") for q in queries]
    # The model loaded (built and quantised the first time) as a web worker loads it
    # before its first request (config/gunicorn.py), then the index mapped.
    hybrid.warm_up(wait=True)
    client.get("/search/", {"q": "warm up the model and the index"})
    print(f"after warm-up: {memory()}")

    print("\nHybrid search (query embedding included)")
    page, ranking = [], []
    for i in range(args.runs):
        q = variants[i % len(variants)]
        cache.clear()
        started = time.perf_counter()
        response = client.get("/search/", {"q": q})
        page.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        cache.clear()
        started = time.perf_counter()
        outcome = hybrid.search(q, Paper.objects.all(), "hybrid", filtered=False)
        ranking.append(time.perf_counter() - started)
        assert outcome.mode == "hybrid", outcome.notice
    print(line("GET /search/?q= (the page)", page))
    print(line("hybrid.search() (the ranking)", ranking))

    print("\nRelated papers (stored vectors, no model call)")
    ids = list(PaperEmbedding.objects.current(key).values_list("paper_id", flat=True)[:200_000])
    sample = rng.sample(ids, args.runs)
    arxiv = dict(Paper.objects.filter(pk__in=sample).values_list("pk", "arxiv_id"))
    view, ranking = [], []
    for paper_id in sample:
        started = time.perf_counter()
        response = client.get(f"/papers/{arxiv[paper_id]}/related/", HTTP_HX_REQUEST="true")
        view.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    for paper_id in rng.sample(ids, args.runs):
        paper = Paper(pk=paper_id)
        started = time.perf_counter()
        hybrid.related(paper)
        ranking.append(time.perf_counter() - started)
    print(line("GET /papers/<id>/related/ (htmx section)", view))
    print(line("hybrid.related() (the ranking)", ranking))

    print('\n"For you" (users with upvotes)')
    voters = list(Vote.objects.values_list("user_id", flat=True).distinct()[: args.runs * 4])
    users = list(User.objects.filter(pk__in=rng.sample(voters, min(args.runs, len(voters)))))
    first = None
    timings, ranking = [], []
    since = (timezone.now() - dt.timedelta(days=settings.FOR_YOU_DAYS)).date()
    for user in users:
        client.force_login(user)
        started = time.perf_counter()
        response = client.get("/for-you/")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if first is None:
            first = elapsed  # loads the recent window's vectors into the process
        else:
            timings.append(elapsed)
        started = time.perf_counter()
        recommend_for(user, since, 30)
        ranking.append(time.perf_counter() - started)
    print(f"  first request (loads the recent window):   {first * 1000:7.1f} ms")
    print(line("GET /for-you/", timings))
    print(line("recommend_for() (the ranking)", ranking))
    print(f"after the requests: {memory()}")

    print(f"\nRecall@10 of the index against an exact scan ({args.recall_queries} queries)")
    enc = encoder.get_encoder()
    picked = rng.sample(queries, min(len(queries), args.recall_queries // 2))
    vectors = [enc.encode_query(q) for q in picked]
    # And stored papers' own vectors (related papers' queries), the paper left out.
    own = rng.sample(ids, args.recall_queries - len(vectors))
    _, own_matrix = PaperEmbedding.objects.matrix(key, own)
    query_matrix = np.vstack([np.array(vectors), own_matrix]).astype(np.float32)
    best = np.full((len(query_matrix), 11), -2.0, np.float32)
    best_ids = np.zeros((len(query_matrix), 11), np.int64)
    started = time.perf_counter()
    for chunk_ids, chunk in index._stream(key):
        scores = query_matrix @ chunk.T
        merged = np.hstack([best, scores])
        merged_ids = np.hstack([best_ids, np.broadcast_to(chunk_ids, scores.shape)])
        top = np.argpartition(-merged, 10, axis=1)[:, :11]
        best = np.take_along_axis(merged, top, 1)
        best_ids = np.take_along_axis(merged_ids, top, 1)
    print(f"  exact scan of {stored:,} vectors: {time.perf_counter() - started:.0f} s")
    loaded, _ = index.loaded.get()
    # The served search depth, then shallower and deeper ones for comparison (the
    # depth is set on the mapped index; usearch doesn't keep it in the file).
    served = index.EXPANSION_SEARCH
    for depth in dict.fromkeys((served, 64, 2 * served)):  # in that order, once each
        loaded.expansion_search = depth
        hits = total = 0
        searches = []
        for row, q in enumerate(query_matrix):
            left_out = own[row - len(vectors)] if row >= len(vectors) else None
            order = np.argsort(-best[row])
            truth = [int(i) for i in best_ids[row][order] if i != left_out][:10]
            started = time.perf_counter()
            keys = loaded.search(q, 11).keys
            searches.append(time.perf_counter() - started)
            found = [int(i) for i in keys if i != left_out][:10]
            hits += len(set(found) & set(truth))
            total += 10
        label = " (served)" if depth == served else ""
        print(
            f"  recall@10 at search depth {depth}{label}: {hits / total:.3f}"
            f"  (index search p50 {np.percentile(searches, 50) * 1000:.2f} ms,"
            f" p95 {np.percentile(searches, 95) * 1000:.2f} ms)"
        )
    loaded.expansion_search = served
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
