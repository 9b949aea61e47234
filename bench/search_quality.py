"""Benchmark: search quality on the evaluation set, mode by mode.

    make bench-search                                   # every mode
    .venv/bin/python bench/search_quality.py --mode keyword --per-query
    .venv/bin/python bench/search_quality.py --sweep    # fusion parameters, held out

Loads the demo (`manage.py load_demo`: 3,720 real papers) into a database of its own
(<DATABASE_URL name with its database replaced by dp_search_eval>, created and migrated
on the first run, kept for the next), runs every query of
bench/data/search_eval/queries.jsonl through each mode and prints nDCG@10 and
recall@10 side by side, over all queries and over each kind (paraphrased, topical).
The set and how it was written: bench/data/search_eval/README.md.

Modes:
- keyword: the site's full-text search as /search/ runs it (search.spelling.search_ids);
- semantic, hybrid: semantic.hybrid.search_ids(query, mode, limit), when the semantic
  app is installed; its vectors are brought up to date first (`embed_papers
  --demo-vectors`: the demo's shipped vectors, each computed alone, so the figures do
  not move with how papers were batched; only what they miss is embedded), and a query
  may take up to a minute to embed (the site's one-second limit would quietly turn a
  slow query into keyword results). Without the app the mode is reported as unavailable.

Guarding against tuning to the set: the queries are split in two halves (A and B, every
other query of each kind in id order) and every figure is printed for both halves as
well as for all; the difference of hybrid from each other mode comes with a 95%
confidence interval (a paired bootstrap over queries). `--sweep` tries fusion
parameters (HYBRID_RRF_K, HYBRID_KEYWORD_TOP, HYBRID_VECTOR_WEIGHT) on half A only,
picks the best by nDCG@10 + recall@10, and reports it beside the defaults on half B.

`--typos`: the topical queries again with one typo each (two neighbouring letters of
the longest word swapped: "speculative decoding" becomes "speculative decdoing"), to
measure "did you mean" (search.spelling): how many come back to the words meant, and the
scores of keyword and hybrid search against the same queries typed right.

Graded relevance: 2 = what the query asks for, 1 = related. nDCG@10 uses gain 2^rel - 1
over the listed papers; recall@10 counts listed papers of either grade in the top 10.
"""

import argparse
import itertools
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUERIES = ROOT / "bench" / "data" / "search_eval" / "queries.jsonl"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dailypapers"
DATABASE = "dp_search_eval"
MODES = ("keyword", "semantic", "hybrid")
K = 10
# --sweep's grid, tried on half A (the defaults, config/settings.py, are in it).
SWEEP = {
    "HYBRID_RRF_K": (10, 30, 60, 100),
    "HYBRID_KEYWORD_TOP": (10, 20, 50),
    "HYBRID_VECTOR_WEIGHT": (1.0, 1.5, 2.0),
}
BOOTSTRAP_SAMPLES = 10_000


def load_queries(path: Path = QUERIES) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def halves(queries: list[dict]) -> tuple[list[dict], list[dict]]:
    """Two halves of the set, each with its share of both kinds: every other query of
    each kind, in id order (p01, p03, ... and t64, t66, ... in A)."""
    a, b = [], []
    for kind in sorted({q["kind"] for q in queries}):
        of_kind = sorted((q for q in queries if q["kind"] == kind), key=lambda q: q["id"])
        a += of_kind[0::2]
        b += of_kind[1::2]
    return a, b


# --- Metrics ------------------------------------------------------------------------------


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    def dcg(grades):
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(grades))

    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    return dcg([relevant.get(arxiv_id, 0) for arxiv_id in ranked[:k]]) / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = K) -> float:
    return len(set(ranked[:k]) & set(relevant)) / len(relevant) if relevant else 0.0


# --- The database -------------------------------------------------------------------------


def database_url(name: str) -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    return urlunsplit(parts._replace(path="/" + name))


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The site gives up on a query's embedding after a second and answers with keyword
    # results; here that would score keyword search under another mode's name.
    os.environ.setdefault("EMBEDDING_QUERY_TIMEOUT", "60")
    # The index is built from this database's vectors: its own folder, never the one a
    # site running from the same checkout maps (var/index/).
    name = urlsplit(url).path.lstrip("/") or "bench"
    os.environ.setdefault("SEMANTIC_INDEX_DIR", str(ROOT / "var" / f"index-{name}"))
    import django

    django.setup()


def load_demo() -> None:
    """Migrate and load the demo, and learn its titles' words for spelling correction
    (as `make run` does); on a database that has it, all are quick."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=1)
    call_command("refresh_search_words")


# --- The modes ----------------------------------------------------------------------------


def keyword_search(query: str, limit: int = K) -> list[str]:
    """What /search/?q=&mode=keyword ranks first, as arXiv ids (semantic/views.py)."""
    from papers.models import Paper
    from search import spelling

    # With "did you mean": a query that finds nothing searches its correction.
    papers = Paper.objects.published_between(None, None)
    ids = spelling.search_ids(papers, query).ids[:limit]
    arxiv = dict(Paper.objects.filter(pk__in=ids).values_list("pk", "arxiv_id"))
    return [arxiv[i] for i in ids]


def meaning_search():
    """semantic.hybrid.search_ids if the semantic app is installed, after bringing the
    stored vectors up to date; else (None, why)."""
    from django.apps import apps

    if not apps.is_installed("semantic"):
        return None, "the semantic app is not installed"
    try:
        from semantic.hybrid import search_ids
    except ImportError as exc:
        return None, f"semantic.hybrid.search_ids cannot be imported ({exc})"
    from django.core.management import call_command

    try:
        call_command("embed_papers", "--demo-vectors", "--rebuild-index")
    except (SystemExit, Exception) as exc:  # a model that fails to load: say so, go on
        return None, f"embedding the demo failed ({exc.__class__.__name__}: {exc})"
    return search_ids, ""


def run_mode(search, queries: list[dict]) -> dict:
    rows, started = [], time.perf_counter()
    for q in queries:
        ranked = search(q["query"])
        rows.append(
            {
                "id": q["id"],
                "kind": q["kind"],
                "ndcg": ndcg_at(ranked, q["relevant"]),
                "recall": recall_at(ranked, q["relevant"]),
                "top": ranked[:K],
            }
        )
    return {"rows": rows, "ms_per_query": 1000 * (time.perf_counter() - started) / len(queries)}


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def summary(result: dict, kind: str | None = None, ids=None) -> tuple[float, float]:
    rows = [
        r
        for r in result["rows"]
        if (kind is None or r["kind"] == kind) and (ids is None or r["id"] in ids)
    ]
    return mean(r["ndcg"] for r in rows), mean(r["recall"] for r in rows)


def paired_difference(better: dict, other: dict, metric: str, seed: int = 0):
    """The mean per-query difference better - other in `metric` and its 95% confidence
    interval, from a paired bootstrap over the queries (resampled with replacement)."""
    diffs = [b[metric] - o[metric] for b, o in zip(better["rows"], other["rows"], strict=True)]
    rng = random.Random(seed)
    means = sorted(
        sum(rng.choices(diffs, k=len(diffs))) / len(diffs) for _ in range(BOOTSTRAP_SAMPLES)
    )
    low, high = means[int(0.025 * BOOTSTRAP_SAMPLES)], means[int(0.975 * BOOTSTRAP_SAMPLES) - 1]
    return mean(diffs), low, high


def differences(results: dict[str, dict | str], mode: str = "hybrid") -> list[str]:
    """Lines saying by how much `mode` beats each other mode, with 95% intervals."""
    if isinstance(results.get(mode), str) or mode not in results:
        return []
    lines = []
    for other, result in results.items():
        if other == mode or isinstance(result, str):
            continue
        for metric, label in (("ndcg", f"nDCG@{K}"), ("recall", f"recall@{K}")):
            diff, low, high = paired_difference(results[mode], result, metric)
            lines.append(
                f"{mode} - {other} {label}: {diff:+.3f} (95% interval {low:+.3f} to {high:+.3f})"
            )
    return lines


def table(results: dict[str, dict | str], queries: list[dict]) -> str:
    modes = list(results)
    counts = {kind: sum(q["kind"] == kind for q in queries) for kind in ("paraphrase", "topical")}
    half_a, half_b = ({q["id"] for q in half} for half in halves(queries))
    lines = [f"{'':28}" + "".join(f"{m:>12}" for m in modes)]

    def row(label, value):
        cells = []
        for m in modes:
            r = results[m]
            cells.append(f"{'n/a':>12}" if isinstance(r, str) else f"{value(r):>12.3f}")
        lines.append(f"{label:28}" + "".join(cells))

    for kind, label in (
        (None, f"all {len(queries)}"),
        *((k, f"{k} {n}") for k, n in counts.items()),
    ):
        row(f"nDCG@{K}  ({label})", lambda r, kind=kind: summary(r, kind)[0])
        row(f"recall@{K} ({label})", lambda r, kind=kind: summary(r, kind)[1])
    for name, ids in (("A", half_a), ("B", half_b)):
        label = f"half {name} {len(ids)}"
        row(f"nDCG@{K}  ({label})", lambda r, ids=ids: summary(r, ids=ids)[0])
        row(f"recall@{K} ({label})", lambda r, ids=ids: summary(r, ids=ids)[1])
    row("ms per query", lambda r: r["ms_per_query"])
    for m in modes:
        if isinstance(results[m], str):
            lines.append(f"{m}: unavailable: {results[m]}")
    return "\n".join(lines)


def with_typo(query: str) -> str:
    """`query` with two neighbouring letters in the middle of its longest word swapped
    (the first pair that differs)."""
    words = query.split()
    n = max(range(len(words)), key=lambda i: (words[i].isalpha(), len(words[i])))
    word = words[n]
    for i in range(len(word) // 2 - 1, len(word) - 1):
        if word[i] != word[i + 1]:
            words[n] = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            break
    return " ".join(words)


def typos(search, queries: list[dict]) -> str:
    """The topical queries with a typo each, in keyword and hybrid search."""
    from search import spelling

    topical = [q for q in queries if q["kind"] == "topical"]
    typed = [dict(q, query=with_typo(q["query"])) for q in topical]
    back = sum(
        (spelling.correct(t["query"]) or "").casefold() == q["query"].casefold()
        for t, q in zip(typed, topical, strict=True)
    )
    lines = [
        f"Topical queries with a typo ({len(typed)}; e.g. {typed[0]['query']!r}): "
        f"{back} corrected back to the words meant."
    ]

    def as_typed(query: str) -> list[str]:
        from papers.models import Paper
        from search import matching

        ids = matching.search_ids(Paper.objects.all(), query)[:K]
        arxiv = dict(Paper.objects.filter(pk__in=ids).values_list("pk", "arxiv_id"))
        return [arxiv[i] for i in ids]

    for mode, run in (
        ("keyword, no correction", as_typed),
        ("keyword", keyword_search),
        ("hybrid", lambda q: search(q, "hybrid", K)),
    ):
        right, wrong = summary(run_mode(run, topical)), summary(run_mode(run, typed))
        lines.append(
            f"  {mode:22} typed right nDCG@{K} {right[0]:.3f} recall@{K} {right[1]:.3f}; "
            f"with a typo {wrong[0]:.3f} {wrong[1]:.3f}"
        )
    return "\n".join(lines)


def sweep(search, queries: list[dict]) -> str:
    """Fusion parameters chosen on half A of the set, judged on half B: the grid SWEEP
    through the site's own code (settings overridden), best by nDCG@10 + recall@10."""
    from django.conf import settings
    from django.test import override_settings

    tune, held = halves(queries)
    defaults = {name: getattr(settings, name) for name in SWEEP}
    tried = []
    for values in itertools.product(*SWEEP.values()):
        params = dict(zip(SWEEP, values, strict=True))
        with override_settings(**params):
            score = summary(run_mode(lambda q: search(q, "hybrid", K), tune))
        tried.append((sum(score), params, score))
    best = max(tried, key=lambda t: t[0])
    lines = [f"Sweep of {len(tried)} fusion settings on half A ({len(tune)} queries):"]
    for _, params, score in sorted(tried, key=lambda t: -t[0])[:5]:
        lines.append(f"  nDCG@{K} {score[0]:.3f} recall@{K} {score[1]:.3f}  {params}")
    lines.append(f"Judged on half B ({len(held)} queries) and on all {len(queries)}:")
    for label, params in (("defaults", defaults), ("best on A", best[1])):
        with override_settings(**params):
            on_b = summary(run_mode(lambda q: search(q, "hybrid", K), held))
            on_all = summary(run_mode(lambda q: search(q, "hybrid", K), queries))
        lines.append(
            f"  {label:10} B: nDCG@{K} {on_b[0]:.3f} recall@{K} {on_b[1]:.3f}; "
            f"all: {on_all[0]:.3f} {on_all[1]:.3f}  {params}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=[*MODES, "all"], default="all")
    parser.add_argument("--database", default=DATABASE, help=f"default {DATABASE}")
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--per-query", action="store_true", help="a line per query and mode")
    parser.add_argument("--json", type=Path, help="write the results to this file too")
    parser.add_argument(
        "--sweep", action="store_true", help="also tune the fusion on half A, judge on half B"
    )
    parser.add_argument(
        "--typos", action="store_true", help="also the topical queries with a typo each"
    )
    args = parser.parse_args(argv)

    url = database_url(args.database)
    ensure_database(url)
    setup_django(url)
    load_demo()
    queries = load_queries(args.queries)

    modes = MODES if args.mode == "all" else (args.mode,)
    results: dict[str, dict | str] = {}
    meaning, why_not = (None, "") if modes == ("keyword",) else meaning_search()
    for mode in modes:
        if mode == "keyword":
            results[mode] = run_mode(keyword_search, queries)
        elif meaning is None:
            results[mode] = why_not
        else:
            results[mode] = run_mode(lambda q, mode=mode: meaning(q, mode, K), queries)

    print(f"Search quality on {len(queries)} queries ({args.queries.relative_to(ROOT)}), "
          f"database {args.database}:")  # fmt: skip
    print(table(results, queries))
    for line in differences(results):
        print(line)
    if args.sweep and meaning is not None:
        print(sweep(meaning, queries))
    if args.typos and meaning is not None:
        print(typos(meaning, queries))
    if args.per_query:
        for mode, result in results.items():
            if isinstance(result, str):
                continue
            print(f"\n{mode}: nDCG@{K} recall@{K} id query")
            for q, r in zip(queries, result["rows"], strict=True):
                print(f"  {r['ndcg']:.2f} {r['recall']:.2f} {q['id']:>4} {q['query'][:70]}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
