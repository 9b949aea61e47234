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

All of a query's words are looked up in one statement (LOOKUP), so that correcting costs
one query however many words. search_ids() applies it: a query that found nothing
searches its correction instead (the page says so, within its 8 queries); one that found
a few is not corrected in the page's request (its queries must not depend on how many
results it has): the page asks search.views.spelling_suggestion for "Did you mean" once
shown. On SQLite (no pg_trgm) queries are searched as typed.
"""

from dataclasses import dataclass

from django.db import connection

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
    suggestion: str = ""  # the correction: searched when `corrected`, else to offer
    corrected: bool = False  # the typed words found nothing: `query` is the correction
    check: bool = False  # found a few: a correction may be offered, asked for separately


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


# For each word (with the least similarity one edit leaves at its length): how many
# titles have it, whether some paper contains it, and the words of the vocabulary sharing
# enough trigrams with it that are not another form of it, the most common first (a large
# vocabulary holds many rare near-misses, other typos, that would crowd the word meant out
# of the most similar few). One statement for all the words and no transaction around it,
# so that correcting a query is one query whatever its length (a page that found nothing
# does it within its 8).
# - `%` goes through the trigram GIN index (search_word_trigram) at
#   pg_trgm.similarity_threshold, which the statement sets itself, word by word: each
#   word's row sets it (set_config, for this transaction only: is_local) as the row is
#   read, and the word's lateral lookup, which refers to that row, runs after (a nested
#   loop: outer row, then inner scan). similarity() >= threshold checks it once more.
# - A word of COMMON titles or more skips its lookup (a One-Time Filter too).
# - The full-text probe (for a word no title has, when asked: `probe`) goes through the
#   papers' full-text GIN index (paper_search). It counts the matches rather than asking
#   EXISTS: with EXISTS' implicit LIMIT 1 the planner expects to meet a match early and
#   scans every paper instead (3 s at a million for a word no paper has); a word no
#   title has is in few abstracts, so the count is short. An English stop word counts
#   as contained: it is no typo.
# - MATERIALIZED keeps the probe at one per word rather than one per candidate row.
LOOKUP = (
    "WITH typed AS MATERIALIZED ("
    "SELECT t.word, t.threshold, coalesce(v.papers, 0) AS titles, "
    "CASE WHEN v.papers > 0 OR NOT %s THEN true "
    "ELSE numnode(plainto_tsquery('english', t.word)) = 0 OR ("
    f"SELECT count(*) FROM {SearchDocument._meta.db_table} WHERE vector @@ "
    "(plainto_tsquery('english', t.word) || plainto_tsquery('simple', t.word))) > 0 "
    "END AS found "
    "FROM unnest(%s::text[], %s::float8[]) AS t(word, threshold) "
    f"LEFT JOIN {SearchWord._meta.db_table} v ON v.word = t.word) "
    # OFFSET 0 keeps set_config in this subquery, called row by row as the join reads.
    "SELECT w.word, w.titles, w.found, near.word, near.papers FROM ("
    "SELECT typed.*, set_config('pg_trgm.similarity_threshold', typed.threshold::text, true) "
    "AS applied FROM typed OFFSET 0) w "
    "LEFT JOIN LATERAL ("
    f"SELECT word, papers FROM {SearchWord._meta.db_table} "
    "WHERE w.applied IS NOT NULL AND w.titles < %s "
    "AND word %% w.word AND similarity(word, w.word) >= w.threshold "
    "AND to_tsvector('english', word) <> to_tsvector('english', w.word) "
    "ORDER BY papers DESC, similarity(word, w.word) DESC LIMIT %s"
    ") near ON true"
)


def lookup_params(words, probe: bool) -> list:
    thresholds = [round(similarity_threshold(len(w)), 3) for w in words]
    return [probe, list(words), thresholds, COMMON, CANDIDATES]


@dataclass
class Looked:
    titles: int  # how many titles have the word
    found: bool  # some paper contains it (or it was not probed)
    similar: list[tuple[str, int]]  # words like it, most common first: (word, titles)


def _look_up(words: list[str], probe: bool) -> dict[str, Looked]:
    """LOOKUP for `words`: one query, however many words."""
    with connection.cursor() as cursor:
        cursor.execute(LOOKUP, lookup_params(words, probe))
        rows = cursor.fetchall()
    looked = {}
    for word, titles, found, other, papers in rows:
        entry = looked.setdefault(word, Looked(titles, found, []))
        if other is not None:
            entry.similar.append((other, papers))
    return looked


def _best_correction(word: str, looked: Looked) -> str | None:
    """The correction of `word`, or None."""
    allowed = 1 if len(word) <= 5 else 2
    least = RATIO * max(1, looked.titles) if looked.found else 1
    options = [
        (edits(word, other), -count, other) for other, count in looked.similar if count >= least
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


def may_correct(query: str) -> bool:
    """Whether correct() would look `query` up (no query asked): PostgreSQL, at most
    MAX_WORDS words, one of them long enough and letters only."""
    return connection.vendor == "postgresql" and bool(_candidates(fulltext.clean_query(query)))


def _candidates(query: str) -> list[str]:
    words = _words(query)
    if not words or len(words) > MAX_WORDS:
        return []
    return sorted(
        {w.casefold() for _, w in words if w.isalpha() and MIN_LENGTH <= len(w) <= MAX_LENGTH}
    )


def correct(query: str, found_some: bool = False) -> str | None:
    """The query with its misspelled words corrected, or None (nothing to correct, a
    long query, or no PostgreSQL). `found_some`: the query found some paper, so each
    word it requires is in some paper (full-text search is AND: only "or" makes a word
    optional; quoted and excluded words are not corrected) and needs no probe."""
    if connection.vendor != "postgresql":
        return None
    query = fulltext.clean_query(query)
    candidates = _candidates(query)
    if not candidates:
        return None
    tokens = fulltext.query_tokens(query)
    probe = not found_some or any(token.casefold() == "or" for token in tokens)
    looked = _look_up(candidates, probe)
    fixes = {w: _best_correction(w, entry) for w, entry in looked.items() if entry.titles < COMMON}
    fixes = {w: fix for w, fix in fixes.items() if fix}
    if not fixes:
        return None
    for n, word in _words(query):
        fix = fixes.get(word.casefold())
        if fix:
            tokens[n] = fulltext.replace_word(tokens[n], word, fix)
    return " ".join(tokens)


def search_ids(papers, query: str, newest: bool = False, top: int | None = None) -> Spelled:
    """matching.search_ids with "did you mean": the ids for `query`, or for its
    correction when the query found nothing and the correction finds something. A
    query that found a few is not corrected here (`check`: the page asks for its
    correction afterwards, search.views.spelling_suggestion), so that a page's queries
    do not depend on how many results it has. `top`: matching.search_ids' (at least
    SUGGEST_BELOW, so that a few results are told from many)."""
    if top is not None:
        top = max(top, SUGGEST_BELOW)
    ids = matching.search_ids(papers, query, newest=newest, top=top)
    if len(ids) >= SUGGEST_BELOW:
        return Spelled(ids, query)
    if ids:
        return Spelled(ids, query, check=may_correct(query))
    fixed = correct(query)
    if not fixed:
        return Spelled(ids, query)
    fixed_ids = matching.search_ids(papers, fixed, newest=newest, top=top)
    if not fixed_ids:
        return Spelled(ids, query)
    return Spelled(fixed_ids, fixed, suggestion=fixed, corrected=True)
