"""The approximate nearest-neighbour index, derived from the stored vectors.

usearch (Apache-2.0, one small wheel, no dependencies beyond numpy): an HNSW graph with
its vectors in float16 in a single file that web workers memory-map (`view=True`):
each worker maps the same pages of the OS page cache instead of holding its own copy,
and opening it costs milliseconds. hnswlib can't map a file (each worker would load
its own copy), and FAISS's wheel is ten times larger for the same HNSW.

Files live in settings.SEMANTIC_INDEX_DIR: `index-<stamp>.usearch` and `current.json`
naming the current file with its model key and watermark (vectors written before it
are in the file). A new file is written beside the old and `current.json` replaced
atomically; web workers check `current.json`'s mtime at most every CHECK_SECONDS and
map the new file. Vectors written since the watermark (papers embedded after the
build) are searched exactly with numpy and merged in, so a new paper is found before
the next build.
"""

import datetime as dt
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# onnxruntime before usearch: importing it after usearch kills the process (a segfault
# in onnxruntime's import; usearch 2.26.6, onnxruntime 1.31.1), and a web worker may map
# the index before it loads the model.
import onnxruntime  # noqa: F401, I001
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from usearch.index import Index

from .models import PaperEmbedding, to_matrix

logger = logging.getLogger(__name__)

CHECK_SECONDS = 5
# Vectors written this long before a build started count as unindexed too: a write
# whose transaction was still open (or whose clock was behind) is then still found.
WATERMARK_MARGIN = dt.timedelta(minutes=2)
# How long the unindexed vectors are kept in memory before being read again.
FRESH_SECONDS = 5
# The worker rebuilds rather than adds to the index past this many unindexed vectors.
UPDATE_LIMIT = 50_000
# Old index files are deleted this long after they stopped being current (workers
# that mapped one keep it until they map the next: on Linux, an unlinked file lives on).
KEEP_OLD_SECONDS = 10 * 60
CONNECTIVITY = 16
EXPANSION_ADD = 128
# Search depth: recall@10 against an exact scan at 1M papers (bench/semantic_load.py,
# 5 Dec 2026) 0.839 at 64, 0.925 at 128, 0.954 at 256 for 0.3 ms more at p50.
EXPANSION_SEARCH = 256
READ_CHUNK = 20_000
# How long a search of the index is remembered (_search_index): the file never changes,
# so this only bounds the cache's size, not how stale an answer may be. Only searches
# for at most NEAREST_CACHE_MAX neighbours are (an unfiltered search asks for 100-800):
# the deeper ones of a filtered search would keep up to 100 kB each for an hour.
NEAREST_CACHE_SECONDS = 60 * 60
NEAREST_CACHE_MAX = 1_000


@dataclass
class Built:
    path: Path
    count: int
    model_key: str
    watermark: dt.datetime


def index_dir() -> Path:
    return Path(settings.SEMANTIC_INDEX_DIR)


def usearch_index():
    """usearch's Index class (imported after onnxruntime, above)."""
    return Index


def _restore(path: Path, view: bool = False):
    """The index in `path` (None if unreadable), searching as deep as a new one: usearch
    keeps the graph's connectivity in the file but not the search and insertion depths,
    so a restored index would search with usearch's default of 64 (recall@10 0.84 at
    1M papers in bench/semantic_load.py) instead of EXPANSION_SEARCH."""
    # A view (web workers) only searches: without usearch's key -> slot table, which
    # only get(), contains() and remove() need, a worker holds 32 MB less of its own
    # memory at a million papers (47 -> 15 MB; the same results, bench/semantic_load.py).
    options = {"enable_key_lookups": False} if view else {}
    index = usearch_index().restore(str(path), view=view, **options)
    if index is not None:
        index.expansion_search = EXPANSION_SEARCH
        index.expansion_add = EXPANSION_ADD
    return index


def _new_index(ndim: int):
    Index = usearch_index()
    return Index(
        ndim=ndim,
        metric="cos",
        # float16: int8 vectors halve the file but capped recall@10 at 0.89 on the
        # benchmark's clustered vectors, whatever the search depth; float16 gives 0.99+.
        dtype="f16",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def _stream(key: str, since: dt.datetime | None = None):
    """(ids, vectors) of model `key`, in chunks by paper id (a million rows are never
    all in memory at once as Python objects)."""
    last = 0
    rows = PaperEmbedding.objects.current(key)
    if since is not None:
        rows = rows.filter(updated_at__gte=since)
    while True:
        chunk = list(
            rows.filter(paper_id__gt=last)
            .order_by("paper_id")
            .values_list("paper_id", "vector")[:READ_CHUNK]
        )
        if not chunk:
            return
        last = chunk[-1][0]
        yield to_matrix(chunk)


def _publish(index, key: str, watermark: dt.datetime, count: int) -> Built:
    folder = index_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.time_ns()}-{os.getpid()}"
    path = folder / f"index-{stamp}.usearch"
    tmp = folder / f".index-{stamp}.tmp"
    index.save(str(tmp))
    os.replace(tmp, path)
    meta = {
        "file": path.name,
        "model_key": key,
        "watermark": watermark.isoformat(),
        "count": count,
        "built_at": timezone.now().isoformat(),
    }
    tmp_meta = folder / f".current-{stamp}.json"
    tmp_meta.write_text(json.dumps(meta))
    os.replace(tmp_meta, folder / "current.json")
    _remove_old(folder, keep=path.name)
    return Built(path=path, count=count, model_key=key, watermark=watermark)


def _remove_old(folder: Path, keep: str) -> None:
    now = time.time()
    for old in folder.glob("index-*.usearch"):
        if old.name != keep and now - old.stat().st_mtime > KEEP_OLD_SECONDS:
            old.unlink(missing_ok=True)


def read_meta() -> dict | None:
    try:
        return json.loads((index_dir() / "current.json").read_text())
    except (OSError, ValueError):
        return None


def _build_lock():
    return cache.add("semantic:index-build", 1, timeout=2 * 60 * 60)


def rebuild(key: str) -> Built:
    """A new index of every stored vector of model `key`, published as current."""
    watermark = timezone.now() - WATERMARK_MARGIN
    index, count = None, 0
    for ids, vectors in _stream(key):
        index = index or _new_index(vectors.shape[1])
        index.add(ids.astype(np.uint64), vectors, threads=settings.EMBEDDING_THREADS)
        count += len(ids)
    if index is None:
        index = _new_index(384)
    return _publish(index, key, watermark, count)


def update(key: str) -> Built | None:
    """Add the vectors written since the current index was built (the worker, after
    embedding). Rebuilds instead when there is no usable index or too much to add."""
    meta = read_meta()
    if not meta or meta["model_key"] != key:
        return rebuild(key)
    since = dt.datetime.fromisoformat(meta["watermark"])
    fresh = PaperEmbedding.objects.current(key).filter(updated_at__gte=since).count()
    if fresh == 0:
        return None
    if fresh > UPDATE_LIMIT:
        return rebuild(key)
    watermark = timezone.now() - WATERMARK_MARGIN
    index = _restore(index_dir() / meta["file"])
    if index is None:
        return rebuild(key)
    for ids, vectors in _stream(key, since):
        keys = ids.astype(np.uint64)
        present = keys[index.contains(keys)]
        if len(present):
            index.remove(present)  # a changed text: its old vector goes
        index.add(keys, vectors, threads=settings.EMBEDDING_THREADS)
    return _publish(index, key, watermark, len(index))


def refresh(key: str) -> Built | None:
    """update(), unless another process is building right now."""
    if not _build_lock():
        return None
    try:
        return update(key)
    finally:
        cache.delete("semantic:index-build")


# --- Reading (web workers) ---------------------------------------------------------------


class _Loaded:
    """The current index file, mapped, and the vectors written since it was built."""

    def __init__(self):
        self.lock = threading.Lock()
        self.checked_at = 0.0
        self.mtime = None
        self.index = None
        self.meta = None
        self.fresh = None  # (key, watermark, read_at, ids, matrix)
        self.capped_since = None  # (key, watermark) last warned about

    def get(self):
        now = time.monotonic()
        if now - self.checked_at < CHECK_SECONDS:
            return self.index, self.meta
        with self.lock:
            if now - self.checked_at < CHECK_SECONDS:
                return self.index, self.meta
            self.checked_at = now
            try:
                mtime = (index_dir() / "current.json").stat().st_mtime_ns
            except OSError:
                self.index = self.meta = self.mtime = None
                return None, None
            if mtime != self.mtime:
                self._load(mtime)
            return self.index, self.meta

    def _load(self, mtime):
        meta = read_meta()
        try:
            index = _restore(index_dir() / meta["file"], view=True) if meta else None
        except (OSError, RuntimeError, ValueError, KeyError):
            index = None
        if index is None:
            # A file replaced between reading current.json and mapping it: next check.
            self.checked_at = 0.0
            return
        self.index, self.meta, self.mtime = index, meta, mtime
        self.fresh = None

    def unindexed(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Vectors of model `key` written since the index was built (all of them when
        there is no index of that model), kept for FRESH_SECONDS."""
        index, meta = self.get()
        since = None
        if index is not None and meta["model_key"] == key:
            since = dt.datetime.fromisoformat(meta["watermark"])
        now = time.monotonic()
        cached = self.fresh
        if cached and cached[0] == key and cached[1] == since and now - cached[2] < FRESH_SECONDS:
            return cached[3], cached[4]
        rows = PaperEmbedding.objects.current(key)
        if since is not None:
            rows = rows.filter(updated_at__gte=since)
        # The newest SEMANTIC_EXACT_SCAN_MAX at most: with no index yet (a new site or
        # web machine, a model change) every stored vector is unindexed, and each worker
        # would hold them all (1.5 GB at a million papers) and scan them per query.
        # Older ones are found once the worker's build (queued past UPDATE_LIMIT) lands.
        limit = settings.SEMANTIC_EXACT_SCAN_MAX
        newest = rows.order_by("-updated_at").values_list("paper_id", "vector")[: limit + 1]
        pairs = list(newest)
        if len(pairs) > limit:
            pairs = pairs[:limit]
            if self.capped_since != (key, since):
                self.capped_since = (key, since)
                logger.warning(
                    "More than %s vectors of %s are not in the index: searching the newest "
                    "%s exactly until the index is built (manage.py embed_papers "
                    "--rebuild-index, or the worker's next build).",
                    limit,
                    key,
                    limit,
                )
        ids, matrix = to_matrix(pairs)
        self.fresh = (key, since, now, ids, matrix)
        return ids, matrix


loaded = _Loaded()


def forget() -> None:
    """Drop the mapped index and cached vectors (tests, after replacing files)."""
    global loaded
    loaded = _Loaded()


def exact(vector: np.ndarray, ids: np.ndarray, matrix: np.ndarray, k: int):
    """The k best of `matrix` by cosine (vectors are normalised: a dot product)."""
    if len(ids) == 0:
        return []
    scores = matrix @ vector
    k = min(k, len(ids))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top])]
    return [(int(ids[i]), float(scores[i])) for i in top]


def _search_index(index, name: str, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k nearest in the mapped index file `name`: (paper id, cosine similarity).
    An index file is never written again once published (a new build is a new name),
    so the same query vector always gets the same answer from it: remembered in the
    cache, a repeated search (a popular query, the next page, another reader) skips
    the graph walk, 2-4 ms of CPU at a million papers. Visibility and the vectors
    written since the build are applied after, on every request."""
    vector = np.ascontiguousarray(vector, np.float32)
    digest = hashlib.blake2b(vector.tobytes(), digest_size=16).hexdigest()
    cache_key = f"semantic:nearest:{name}:{EXPANSION_SEARCH}:{k}:{digest}"
    remembered = k <= NEAREST_CACHE_MAX
    found = cache.get(cache_key) if remembered else None
    if found is None:
        matches = index.search(vector, k)
        distances = np.asarray(matches.distances, np.float64)
        found = (np.asarray(matches.keys, np.int64).tobytes(), (1.0 - distances).tobytes())
        if remembered:
            cache.set(cache_key, found, NEAREST_CACHE_SECONDS)
    ids, similarities = np.frombuffer(found[0], np.int64), np.frombuffer(found[1], np.float64)
    return list(zip(ids.tolist(), similarities.tolist(), strict=True))


def nearest(vector: np.ndarray, k: int, key: str) -> list[tuple[int, float]]:
    """The k nearest stored vectors of model `key`: (paper id, cosine similarity), best
    first. From the index and from the vectors written since it was built."""
    results: dict[int, float] = {}
    index, meta = loaded.get()
    if index is not None and meta["model_key"] == key and len(index):
        results.update(_search_index(index, meta["file"], vector, min(k, len(index))))
    ids, matrix = loaded.unindexed(key)
    for paper_id, score in exact(vector, ids, matrix, k):
        results[paper_id] = score  # a newer vector of the same paper wins
    return sorted(results.items(), key=lambda item: -item[1])[:k]
