"""Recommendations ("For you"): recent papers nearest to what a user upvoted, saved or
put in a collection (papers.hooks.positive_examples: the library registers them) and to
the papers of the authors they follow, each with the paper that brought it.

Only stored vectors are read (no model call). The recent window's vectors are kept in
memory per process for RECENT_SECONDS (a fortnight of arXiv, ~25,000 papers, is 19 MB
in float16), and scored against all of the user's seeds in one matrix product.
"""

import datetime as dt
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.db.models import F, Q
from django.utils.text import Truncator

from papers.hooks import positive_examples
from papers.models import Author, Paper
from papers.ranking import featured_at

from . import encoder
from .models import STORED_DTYPE, PaperEmbedding

MAX_UPVOTED_SEEDS = 40
MAX_LIBRARY_SEEDS = 40
MAX_AUTHOR_SEEDS = 20
RECENT_SECONDS = 5 * 60
# Below this similarity a paper is not worth recommending, whatever else there is.
MIN_SIMILARITY = 0.2
NOTE_TITLE_CHARS = 80


@dataclass
class Recommendation:
    paper_id: int
    score: float
    because_id: int  # the seed paper
    because_title: str
    because_arxiv_id: str
    because: str  # "upvoted", "saved", "collected" or "follow"
    author_name: str = ""

    @property
    def because_prefix(self) -> str:
        """What comes before the seed's title in "Because you ... <title>"."""
        if self.because == "follow":
            return f"Because you follow {self.author_name}, author of"
        if self.because == "collected":
            return "Because you added"
        return f"Because you {self.because}"

    @property
    def because_suffix(self) -> str:
        return " to a collection" if self.because == "collected" else ""

    def because_text(self) -> str:
        """The whole reason as plain text (the digest's note under a paper), the seed's
        title shortened: the note sits above the paper's own title."""
        title = Truncator(" ".join(self.because_title.split())).chars(NOTE_TITLE_CHARS)
        return f"{self.because_prefix} “{title}”{self.because_suffix}"


def seeds_for(user) -> list[tuple[int, str, str, str, str]]:
    """(paper id, title, reason, author name, arXiv id) of the user's seeds: papers they
    upvoted, then saved or collected ("saved", "collected"), then by authors they follow."""
    seeds = [
        (pk, title, "upvoted", "", arxiv_id)
        for pk, title, arxiv_id in Paper.objects.upvoted_by(user).values_list(
            "pk", "title", "arxiv_id"
        )[:MAX_UPVOTED_SEEDS]
    ]
    seen = {s[0] for s in seeds}
    kept = [(pk, why) for pk, why in positive_examples(user, MAX_LIBRARY_SEEDS) if pk not in seen]
    if kept:
        rows = {
            pk: (title, arxiv_id)
            for pk, title, arxiv_id in Paper.objects.visible()
            .filter(pk__in=[pk for pk, _ in kept])
            .values_list("pk", "title", "arxiv_id")
        }
        for pk, why in kept:
            if pk in rows:
                seeds.append((pk, rows[pk][0], why, "", rows[pk][1]))
                seen.add(pk)
    # Followed authors through the follow rows' reverse name (digests owns the model).
    followed = Author.objects.filter(followers__user=user).values_list("pk", flat=True)
    rows = (
        Paper.objects.visible()
        .filter(authorships__author_id__in=list(followed[:50]))
        .order_by(F("published_at").desc(nulls_last=True))
        .values_list("pk", "title", "authorships__author__name", "arxiv_id")[: MAX_AUTHOR_SEEDS * 3]
    )
    for pk, title, name, arxiv_id in rows:
        if pk not in seen and len(seeds) < MAX_UPVOTED_SEEDS + MAX_LIBRARY_SEEDS + MAX_AUTHOR_SEEDS:
            seeds.append((pk, title, "follow", name, arxiv_id))
            seen.add(pk)
    return seeds


class _Recent:
    def __init__(self):
        self.lock = threading.Lock()
        self.cached = {}

    def get(self, key: str, since: dt.date) -> tuple[np.ndarray, np.ndarray]:
        now = time.monotonic()
        entry = self.cached.get((key, since))
        if entry and now - entry[0] < RECENT_SECONDS:
            return entry[1], entry[2]
        with self.lock:
            # Recent: first published on arXiv, or featured in a daily list, since then.
            recent_papers = Paper.objects.visible().filter(
                Q(published_at__gte=featured_at(since)) | Q(daily_date__gte=since)
            )
            rows = PaperEmbedding.objects.current(key).filter(paper__in=recent_papers)
            ids, blobs = [], []
            for paper_id, blob in rows.values_list("paper_id", "vector").iterator(chunk_size=5000):
                ids.append(paper_id)
                blobs.append(bytes(blob))
            matrix = (
                np.frombuffer(b"".join(blobs), STORED_DTYPE).reshape(len(ids), -1)
                if ids
                else np.zeros((0, 0), STORED_DTYPE)
            )
            self.cached = {(key, since): (now, np.array(ids, np.int64), matrix)}
            return self.cached[(key, since)][1], matrix

    def clear(self):
        with self.lock:
            self.cached = {}


recent = _Recent()


def recommend_for(user, since: dt.date, limit: int = 30) -> list[Recommendation]:
    """Papers first published or featured on or after `since` nearest to the user's seeds, best
    first; papers the user upvoted, saved or collected (as seeds) are left out. [] for a
    user with no seeds (or before any vector exists). The personal digest calls this too."""
    seeds = seeds_for(user)
    if not seeds:
        return []
    seed_rows = dict(
        PaperEmbedding.objects.filter(paper_id__in=[s[0] for s in seeds]).values_list(
            "paper_id", "vector"
        )
    )
    keyed = PaperEmbedding.objects.filter(paper_id__in=list(seed_rows)).values_list(
        "paper_id", "model_key"
    )
    try:
        key = encoder.model_key()
    except encoder.EncoderUnavailable:
        key = None
    usable = {pk for pk, model in keyed if model == key}
    seeds = [s for s in seeds if s[0] in usable]
    if not seeds:
        return []
    seed_matrix = np.stack(
        [np.frombuffer(bytes(seed_rows[s[0]]), STORED_DTYPE).astype(np.float32) for s in seeds]
    )
    ids, matrix = recent.get(key, since)
    if not len(ids):
        return []
    scores = np.empty((len(ids), len(seeds)), np.float32)
    for start in range(0, len(ids), 8192):
        scores[start : start + 8192] = (
            matrix[start : start + 8192].astype(np.float32) @ seed_matrix.T
        )
    best_seed = scores.argmax(axis=1)
    best = scores[np.arange(len(ids)), best_seed]
    upvoted = set(Paper.objects.upvoted_by(user).values_list("pk", flat=True))
    exclude = upvoted | {s[0] for s in seeds}
    order = np.argsort(-best)
    results = []
    for i in order:
        if best[i] < MIN_SIMILARITY or len(results) >= limit:
            break
        paper_id = int(ids[i])
        if paper_id in exclude:
            continue
        seed = seeds[best_seed[i]]
        results.append(
            Recommendation(
                paper_id=paper_id,
                score=float(best[i]),
                because_id=seed[0],
                because_title=seed[1],
                because=seed[2],
                author_name=seed[3],
                because_arxiv_id=seed[4],
            )
        )
    return results
