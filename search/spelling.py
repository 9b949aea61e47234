"""Did you mean: short typos in a query, caught by trigram matching (pg_trgm).

A query of at most MAX_WORDS words that finds fewer than SUGGEST_BELOW papers has each
word of MIN_LENGTH letters or more checked: a word no paper contains, or one that a far
more common word (in RATIO times as many titles) is one typo away from, is replaced by
the nearest word of the titles' vocabulary (search.models.SearchWord). Candidates share
enough trigrams with it (pg_trgm's `%` operator through the trigram GIN index, at
similarity_threshold(), the least one edit leaves) and are not another form of it (a
different English stem: "transformer" already finds "transformers"); the fewest edits
wins (insertions, deletions, substitutions and swaps of two neighbours; at most 1 for a
word of 5 letters, else 2), then the most titles. "tranformer" becomes "transformer",
"difusion modle" "diffusion model".

search_ids() applies it: a query that found nothing searches its correction instead
(the page says so); one that found a few offers it ("Did you mean"). On SQLite (no
pg_trgm) queries are searched as typed.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from papers.models import SearchDocument

from . import fulltext, matching
from .models import SearchWord

MAX_WORDS = 6
SUGGEST_BELOW = 5
MIN_LENGTH = 5
MAX_LENGTH = 30
RATIO = 20
# A word in this many titles is taken as spelled right.
COMMON = 20
CANDIDATES = 50


def similarity_threshold(length: int) -> float:
    """The trigram similarity below which no word one edit away from a word of `length`
    letters falls: (n - 4) / (n + 4), from 0.2 at 5-6 letters to 0.45 at 15 and up.
    Measured on 40,000 one-edit typos of the 1M benchmark's title words, the lowest
    similarity was 0.20 at 5 letters, 0.33 at 7, 0.47 at 10. pg_trgm's fixed default,
    0.3, misses a swap in a short word ("modles" and "models": 0.27); a lower fixed one
    makes a long word's lookup read thousands of candidates."""
    return min(0.45, max(0.19, (length - 4) / (length + 4)))


@dataclass
class Spelled:
    ids: list[int]  # the keyword matches, best first (or newest first)
    query: str  # the words searched: the query, or its correction if it found nothing
    suggestion: str = ""  # a correction to offer
    corrected: bool = False  # the typed words found nothing: `query` is the correction


def edits(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours turning a into b
    (optimal string alignment distance)."""
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


# Words of the vocabulary sharing enough trigrams with a word (the `%` operator goes
# through the trigram GIN index, search_word_trigram) that are not another form of it,
# the most common first: a large vocabulary holds many rare near-misses (other typos)
# that would crowd the word meant out of the most similar few.
SIMILAR_WORDS = (
    "SELECT word, papers FROM search_searchword WHERE word %% %s "
    "AND to_tsvector('english', word) <> to_tsvector('english', %s) "
    "ORDER BY papers DESC, similarity(word, %s) DESC LIMIT %s"
)


def _similar_words(word: str) -> list[tuple[str, int]]:
    """Words like `word`, most common first: (word, titles)."""
    with transaction.atomic(), connection.cursor() as cursor:
        # For this transaction only: the threshold of the `%` operator.
        threshold = similarity_threshold(len(word))
        cursor.execute(f"SET LOCAL pg_trgm.similarity_threshold = {threshold:.3f}")
        cursor.execute(SIMILAR_WORDS, [word, word, word, CANDIDATES])
        return cursor.fetchall()


def _best_correction(word: str, titles: int, found: bool) -> str | None:
    """The correction of `word` (in `titles` titles; `found`: some paper contains it)."""
    allowed = 1 if len(word) <= 5 else 2
    least = RATIO * max(1, titles) if found else 1
    options = [
        (edits(word, other), -count, other)
        for other, count in _similar_words(word)
        if count >= least
    ]
    options = [option for option in options if option[0] <= allowed]
    return min(options)[2] if options else None


def _words(query: str) -> list[tuple[int, str]]:
    """(token index, word) of the words a correction may replace: outside quotes, not
    excluded, not the operator "or", letters only."""
    found = []
    for n, token in enumerate(fulltext.query_tokens(query)):
        if token.startswith(('"', "-")) or token.casefold() == "or":
            continue
        found += [(n, word) for word in fulltext.words_of(token)]
    return found


# Whether some paper contains a word (in any form), for a word no title has.
# (An English stop word counts as contained: it is no typo.)
CONTAINED = (
    "SELECT numnode(plainto_tsquery('english', %s)) = 0 OR EXISTS ("
    f"SELECT 1 FROM {SearchDocument._meta.db_table} WHERE vector @@ "
    "(plainto_tsquery('english', %s) || plainto_tsquery('simple', %s)))"
)


def _contained(word: str) -> bool:
    """Whether some paper contains `word`: one probe of the full-text GIN index. With
    LIMIT 1 the planner expects to meet a match early and would scan the table instead
    (3 s at a million papers for a word no paper has), hence no sequential scan here."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(CONTAINED, [word, word, word])
        return cursor.fetchone()[0]


def correct(query: str) -> str | None:
    """The query with its misspelled words corrected, or None (nothing to correct, a
    long query, or no PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    query = fulltext.clean_query(query)
    words = _words(query)
    if not words or len(words) > MAX_WORDS:
        return None
    candidates = {
        w.casefold() for _, w in words if w.isalpha() and MIN_LENGTH <= len(w) <= MAX_LENGTH
    }
    if not candidates:
        return None
    titles = dict(SearchWord.objects.filter(word__in=candidates).values_list("word", "papers"))
    fixes = {}
    for w in sorted(candidates):
        count = titles.get(w, 0)
        if count >= COMMON:
            continue  # a word of this many titles is no typo
        fixes[w] = _best_correction(w, count, found=count > 0 or _contained(w))
    fixes = {w: fix for w, fix in fixes.items() if fix}
    if not fixes:
        return None
    tokens = fulltext.query_tokens(query)
    for n, word in words:
        fix = fixes.get(word.casefold())
        if fix:
            tokens[n] = fulltext.replace_word(tokens[n], word, fix)
    return " ".join(tokens)


def search_ids(papers, query: str, newest: bool = False) -> Spelled:
    """matching.search_ids with "did you mean": the ids for `query`, or for its
    correction when the query found nothing and the correction finds something."""
    ids = matching.search_ids(papers, query, newest=newest)
    if len(ids) >= SUGGEST_BELOW:
        return Spelled(ids, query)
    fixed = correct(query)
    if not fixed:
        return Spelled(ids, query)
    if ids:
        return Spelled(ids, query, suggestion=fixed)
    fixed_ids = matching.search_ids(papers, fixed, newest=newest)
    if not fixed_ids:
        return Spelled(ids, query)
    return Spelled(fixed_ids, fixed, suggestion=fixed, corrected=True)
