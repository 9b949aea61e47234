"""Search by meaning and hybrid search.

hybrid (the default): the keyword search's best HYBRID_KEYWORD_TOP and the vector search's
best HYBRID_VECTOR_TOP (settings), merged by reciprocal rank fusion (score = sum of
weight / (HYBRID_RRF_K + rank), the vector list weighing HYBRID_VECTOR_WEIGHT), as Hugging
Face's paper search does; an exact title is pinned first (an exact arXiv id is sent to its
paper by the view before any of this). The defaults (50, 50, k = 60, weight 1) are Hugging
Face's; tuned on half of the evaluation set, other values did no better on the other
half (bench/search_quality.py --sweep, docs/search.md#quality). semantic: the vector
search alone. keyword: the existing full-text search, unchanged.

In every mode the words go through search.spelling first: a query whose words match
nothing is searched as its spelling correction ("tranformer" as "transformer"), by words
and by meaning, and Outcome says so (`words`, `corrected`, `suggestion`).

The query's embedding runs in a thread with a time limit (EMBEDDING_QUERY_TIMEOUT, 1 s):
a model that is slow, still loading or broken gives the keyword results and a notice,
never an error page.
"""

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F

from papers import compiled
from papers.models import Paper
from search import fulltext as keyword_search
from search import matching, spelling

from . import encoder, index
from .models import PaperEmbedding

MODES = ("hybrid", "keyword", "semantic")
# A semantic-only search lists this many papers (five pages).
SEMANTIC_TOP = 100
# A filter selecting at most this many papers is searched exactly over their vectors;
# a wider one samples the index more and more deeply until the page is full.
PREFILTER_MAX = 5_000
MAX_OVERSAMPLE = 4_096
# ... and if even that does not fill the page (a filter of middling selectivity), the
# newest this many filtered papers are scanned exactly.
FALLBACK_EXACT_MAX = 50_000
QUERY_CACHE_SECONDS = 60 * 60

WORDS = "words"
MEANING = "meaning"
BOTH = "both"
TITLE = "title"

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="embed-query")


class MeaningUnavailable(Exception):
    """The query could not be embedded in time, or the model is not there."""


@dataclass
class Outcome:
    ids: list[int]
    mode: str
    reasons: dict[int, str] = field(default_factory=dict)
    notice: str = ""  # shown above the results when search by meaning was skipped
    similarity: dict[int, float] = field(default_factory=dict)
    words: str = ""  # what was searched: the query, or its spelling correction
    suggestion: str = ""  # a spelling correction to offer ("Did you mean")
    corrected: bool = False  # the query found nothing: `words` is its correction
    check_spelling: bool = False  # found a few: ask search.views.spelling_suggestion


def _encode_query(text: str) -> np.ndarray:
    return encoder.get_encoder().encode_query(text)


def embed_query(text: str, timeout: float | None = None) -> tuple[str, np.ndarray]:
    """(model key, the query's vector), from the cache or the model within `timeout`."""
    try:
        key = encoder.model_key()
    except encoder.EncoderUnavailable as exc:
        raise MeaningUnavailable(str(exc)) from exc
    # Lone surrogates (from a malformed query string) can't go to the tokenizer.
    text = text.encode("utf-8", "replace").decode("utf-8")
    cache_key = "semantic:q:" + hashlib.sha256(f"{key}\n{text}".encode()).hexdigest()
    cached = cache.get(cache_key)
    if cached is not None:
        return key, np.frombuffer(cached, np.float32)
    future = _executor.submit(_encode_query, text)
    try:
        vector = future.result(timeout=timeout or settings.EMBEDDING_QUERY_TIMEOUT)
    except FutureTimeout as exc:
        raise MeaningUnavailable("The model took too long") from exc
    except encoder.EncoderUnavailable as exc:
        raise MeaningUnavailable(str(exc)) from exc
    vector = np.asarray(vector, np.float32)
    cache.set(cache_key, vector.tobytes(), QUERY_CACHE_SECONDS)
    return key, vector


def vector_search(
    vector: np.ndarray, key: str, k: int, papers=None, exclude=()
) -> list[tuple[int, float]]:
    """The k visible papers nearest to `vector`: (id, similarity), best first. `papers`,
    a filtered queryset of Paper, restricts them: the page is filled whatever the
    filter's selectivity (exactly when the filter is selective, else from a deeper and
    deeper index search)."""
    exclude = set(exclude)
    base = (papers if papers is not None else Paper.objects.all()).visible()
    if papers is not None:
        candidates = list(base.values_list("pk", flat=True)[: PREFILTER_MAX + 1])
        if len(candidates) <= PREFILTER_MAX:
            return _exact_among(vector, key, [c for c in candidates if c not in exclude], k)
    depth = max(2 * (k + len(exclude)), 50)
    while True:
        found = index.nearest(vector, depth, key)
        allowed = _allowed(papers, base, [i for i, _ in found])
        results = [(i, s) for i, s in found if i in allowed and i not in exclude]
        if len(results) >= k or len(found) < depth or depth >= MAX_OVERSAMPLE:
            break
        depth *= 4
    if len(results) < k and papers is not None:
        newest = base.order_by(F("published_at").desc(nulls_last=True), "-pk")
        candidates = list(newest.values_list("pk", flat=True)[:FALLBACK_EXACT_MAX])
        return _exact_among(vector, key, [c for c in candidates if c not in exclude], k)
    return results[:k]


def _allowed(papers, base, ids) -> set[int]:
    """Which of `ids` the search may show: `base`'s, or with no filter (`papers` None)
    the visible ones, by SQL compiled once per process for each number of ids."""
    if papers is None and connection.vendor == "postgresql":
        shaped = compiled.shaped(_visible_among, pks=compiled.Ids(ids))
        return {row[0] for row in shaped.rows()}
    return set(base.filter(pk__in=ids).values_list("pk", flat=True))


def _visible_among(pks):
    # pks: an array parameter (compiled.Ids): 50 to 4,096 ids in one statement.
    return Paper.objects.visible().filter(pk__in=compiled.unnested(pks)).values_list("pk")


def _exact_among(vector, key, paper_ids, k):
    results = []
    for start in range(0, len(paper_ids), 10_000):
        ids, matrix = PaperEmbedding.objects.matrix(key, paper_ids[start : start + 10_000])
        results += index.exact(vector, ids, matrix, k)
    return sorted(results, key=lambda item: -item[1])[:k]


def rrf(*rankings: list[int], k: int = 60, weights: tuple[float, ...] = ()) -> list[int]:
    """Reciprocal rank fusion of ranked id lists (each weighing its entry in `weights`,
    1 by default): best first, ties by first appearance."""
    scores: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        weight = weights[n] if n < len(weights) else 1.0
        for rank, paper_id in enumerate(ranking, start=1):
            scores[paper_id] = scores.get(paper_id, 0.0) + weight / (k + rank)
    return sorted(scores, key=lambda paper_id: -scores[paper_id])


def _exact_title(query: str, ids: list[int]) -> int | None:
    """The paper among `ids` whose title is the query. Both go through clean_query,
    which the query already went through (repeated words once, at most 16 words)."""
    wanted = query.strip('"').casefold()
    if not ids or len(wanted) < 8:
        return None
    titles = (
        compiled.shaped(_titles_of, pks=compiled.Ids(ids)).rows()
        if connection.vendor == "postgresql"
        else Paper.objects.filter(pk__in=ids).values_list("pk", "title")
    )
    for paper_id, title in titles:
        if keyword_search.clean_query(title).casefold() == wanted:
            return paper_id
    return None


def _titles_of(pks):
    return Paper.objects.filter(pk__in=compiled.unnested(pks)).values_list("pk", "title")


def newest_first(ids: list[int]) -> list[int]:
    published = dict(Paper.objects.filter(pk__in=ids).values_list("pk", "published_at"))
    return sorted(
        ids,
        key=lambda i: (published.get(i) is not None, published.get(i) or 0, i),
        reverse=True,
    )


def _has_vectors() -> bool:
    try:
        key = encoder.model_key()
    except encoder.EncoderUnavailable:
        return True  # let embed_query fail and say so
    return bool(compiled.shaped(_one_vector, key=key).rows())


def _one_vector(key):
    return PaperEmbedding.objects.current(key).values_list("pk")[:1]


def search(query: str, papers, mode: str = "hybrid", newest: bool = False, filtered=True):
    """The ranked ids for `query` among `papers` (a Paper queryset with the page's
    filters), with why each is there. `filtered`: whether `papers` holds a filter."""
    mode = mode if mode in MODES else "hybrid"
    # Lone surrogates (a caller's str, not a decoded request) can't reach PostgreSQL.
    query = keyword_search.clean_query(query.encode("utf-8", "replace").decode("utf-8"))
    # Unfiltered, the words are matched by SQL compiled once (matching.search_ids).
    words_among = papers if filtered else None
    # No vector stored yet (a new site before its first embed_papers): keyword search
    # is all there is, and the model is not loaded for nothing.
    keyword_only = mode == "keyword" or not keyword_search.has_words(query) or not _has_vectors()
    # Keyword search lists every match; hybrid and semantic use the best
    # HYBRID_KEYWORD_TOP at most, by relevance whatever the order asked (the fused
    # list is put in order), which PostgreSQL picks and sends alone.
    best_only = None if keyword_only else settings.HYBRID_KEYWORD_TOP
    spelled = spelling.search_ids(
        words_among, query, newest=newest and best_only is None, top=best_only
    )
    keyword_ids = spelled.ids
    # A query that found nothing as typed is searched as corrected, by meaning too.
    query = spelled.query
    said = {
        "words": query,
        "suggestion": spelled.suggestion,
        "corrected": spelled.corrected,
        "check_spelling": spelled.check,
    }
    if keyword_only:
        return Outcome(keyword_ids, "keyword", dict.fromkeys(keyword_ids, WORDS), **said)
    try:
        key, vector = embed_query(query)
    except MeaningUnavailable:
        # Keyword search's results after all: every match, in the order asked.
        keyword_ids = matching.search_ids(words_among, query, newest=newest)
        return Outcome(
            keyword_ids,
            "keyword",
            dict.fromkeys(keyword_ids, WORDS),
            notice="Search by meaning is unavailable at the moment: these are keyword matches.",
            **said,
        )
    # With no keyword match (most long, descriptive queries) hybrid is the vector list
    # alone: as long as semantic's, rather than stopping at HYBRID_VECTOR_TOP.
    top = SEMANTIC_TOP if mode == "semantic" or not keyword_ids else settings.HYBRID_VECTOR_TOP
    nearest = vector_search(vector, key, top, papers if filtered else None)
    similarity = dict(nearest)
    vector_ids = [i for i, _ in nearest]
    if mode == "semantic":
        ids = newest_first(vector_ids) if newest else vector_ids
        return Outcome(ids, "semantic", dict.fromkeys(ids, MEANING), similarity=similarity, **said)
    best_keyword = keyword_ids[: settings.HYBRID_KEYWORD_TOP]
    fused = rrf(
        best_keyword,
        vector_ids,
        k=settings.HYBRID_RRF_K,
        weights=(1.0, settings.HYBRID_VECTOR_WEIGHT),
    )
    in_keyword, in_vector = set(best_keyword), set(vector_ids)
    reasons = {
        i: BOTH if i in in_keyword and i in in_vector else WORDS if i in in_keyword else MEANING
        for i in fused
    }
    pinned = _exact_title(query, best_keyword[:10])
    if pinned is not None:
        fused = [pinned] + [i for i in fused if i != pinned]
        reasons[pinned] = TITLE
    if newest:
        fused = newest_first(fused)
    return Outcome(fused, "hybrid", reasons, similarity=similarity, **said)


def search_ids(query: str, mode: str = "hybrid", limit: int = 10) -> list[str]:
    """arXiv ids of the best `limit` papers for `query` in `mode`, over every visible
    paper (the evaluation harness, bench/search_quality.py, and the JSON API call this)."""
    outcome = search(query, Paper.objects.all(), mode=mode, filtered=False)
    ids = outcome.ids[:limit]
    arxiv = dict(Paper.objects.filter(pk__in=ids).values_list("pk", "arxiv_id"))
    return [arxiv[i] for i in ids if i in arxiv]


def related(paper, limit: int = 8) -> list[int]:
    """Ids of the papers nearest to `paper`'s stored vector (no model call); [] when it
    has none yet."""
    row = PaperEmbedding.objects.filter(paper=paper).first()
    if row is None:
        return []
    return [i for i, _ in vector_search(row.unpack(), row.model_key, limit, exclude={paper.pk})]


_warm_lock = threading.Lock()


def warm_up(wait: bool = False) -> None:
    """Load the model, so the first query does not spend its time limit loading it: in
    the background, or before returning with `wait` (a web worker before it accepts
    its first request: a model loading beside requests held them up to a second)."""

    def load():
        try:
            if _has_vectors():
                encoder.get_encoder()
        except Exception:  # a worker starts whatever happens here
            pass
        finally:
            connection.close()  # this thread's own connection

    if _warm_lock.acquire(blocking=False):
        if wait:
            load()
        else:
            _executor.submit(load)
