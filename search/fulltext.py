"""Full-text search helpers: query cleaning, the tsquery of a visitor's query, the
statement time limit, and the SQLite fallback's reading of the query and highlights.

Highlights are the two private-use markers of papers.highlight, which renders them
(never as HTML from the paper's text).
"""

import re
from contextlib import contextmanager

from django.contrib.postgres.search import SearchQuery
from django.db import OperationalError, connection
from psycopg.errors import QueryCanceled

from papers.highlight import START, STOP

# A query longer than this is cut: more words only narrow the result, and every word
# costs an index lookup (and is looked up twice, see web_query).
MAX_QUERY_LENGTH = 300
MAX_QUERY_WORDS = 16
# A search whose queries run longer than this stops with a message instead of holding a
# worker (and before gunicorn's statement_timeout turns it into a server error). A phrase
# of two common words is the usual culprit: every paper with both must be read.
SEARCH_TIME_LIMIT_MS = 1500
# How many matches are ranked. The GIN index finds matches cheaply; ranking and sorting
# all of them would not be, for a common word over a million papers.
CANDIDATE_LIMIT = 2000
# On SQLite, how many words of a query must each match.
MAX_FALLBACK_TERMS = 8

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")
_CATEGORY_RE = re.compile(r"^(?:[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?|[a-z][a-z-]*\.\*)$")
_WORD = re.compile(r"\w+", re.UNICODE)
# A quoted phrase (its closing quote may be missing, as websearch_to_tsquery allows) or
# anything else up to a space.
_TOKEN = re.compile(r'"[^"]*"?|[^\s"]+')


def _clean(text: str | None) -> tuple[str, bool]:
    text = " ".join(_CONTROL.sub(" ", text or "").split())
    cut = len(text) > MAX_QUERY_LENGTH
    seen, kept, words = set(), [], 0
    for token in _TOKEN.findall(text[:MAX_QUERY_LENGTH]):
        key = token.casefold()
        # A repeated word or phrase changes nothing but the cost; "or" is an operator.
        if key in seen and key != "or":
            continue
        count = len(_WORD.findall(token))
        if words + count > MAX_QUERY_WORDS:
            cut = True
            break
        seen.add(key)
        kept.append(token)
        words += count
    return " ".join(kept), cut


def clean_query(text: str | None) -> str:
    """The query as it is searched: no NUL or control characters (PostgreSQL rejects
    NUL in text), whitespace collapsed, repeated words once, at most MAX_QUERY_WORDS
    words and MAX_QUERY_LENGTH characters."""
    return _clean(text)[0]


def is_shortened(text: str | None) -> bool:
    """Whether clean_query left out words of `text` (not just repeats)."""
    return _clean(text)[1]


class SearchTookTooLong(Exception):
    pass


@contextmanager
def time_limit(milliseconds: int | None = None):
    """Run the enclosed queries under a statement timeout; raise SearchTookTooLong
    if PostgreSQL cancels one. Session-level SET and reset rather than SET LOCAL in a
    transaction: two statements, where a transaction adds savepoints around a list
    page's queries."""
    if connection.vendor != "postgresql":
        yield
        return
    limit = str(milliseconds or SEARCH_TIME_LIMIT_MS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('statement_timeout'), "
            "set_config('statement_timeout', %s, false)",
            [limit],
        )
        previous = cursor.fetchone()[0]
    try:
        yield
    except OperationalError as exc:
        if isinstance(exc.__cause__, QueryCanceled):
            raise SearchTookTooLong from exc
        raise
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [previous])


def query_tokens(query: str) -> list[str]:
    """The query's parts: quoted phrases (with their quotes), -exclusions, words."""
    return _TOKEN.findall(query)


def words_of(token: str) -> list[str]:
    return _WORD.findall(token)


def replace_word(token: str, word: str, replacement: str) -> str:
    """`token` with the whole word `word` in it replaced."""
    return re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", lambda _: replacement, token)


def has_words(query: str) -> bool:
    return bool(_WORD.search(query))


def is_category(text: str) -> bool:
    """An arXiv category ("cs.LG", "hep-th") or a whole archive ("cs.*")."""
    return bool(_CATEGORY_RE.match(text)) and len(text) <= 32


def fallback_clauses(query: str) -> list[list[tuple[bool, str]]]:
    """Web search syntax read without full-text search (SQLite), as the search tips
    describe it: groups joined by "or", each a list of (excluded, text) that must all
    hold. A word is matched as a substring, a "quoted phrase" as written, and -word or
    -"phrase" must not appear. At most MAX_FALLBACK_TERMS texts in all."""
    groups, clauses, exclude, count = [], [], False, 0
    for token in _TOKEN.findall(query):
        if token.casefold() == "or":
            if clauses:
                groups.append(clauses)
            clauses, exclude = [], False
            continue
        if token == "-":  # before a "phrase": the tokenizer splits them
            exclude = True
            continue
        if token.startswith("-"):
            exclude, token = True, token[1:]
        if token.startswith('"'):
            phrase = " ".join(token.strip('"').split())
            texts = [phrase] if _WORD.search(phrase) else []
        else:
            texts = _WORD.findall(token)
        for text in texts:
            if count < MAX_FALLBACK_TERMS:
                clauses.append((exclude, text))
                count += 1
        exclude = False
    if clauses:
        groups.append(clauses)
    # A group of exclusions alone would match nearly everything: it is left out.
    return [group for group in groups if any(not excluded for excluded, _ in group)]


def fallback_terms(query: str) -> list[str]:
    """The texts a query looks for without full-text search: what results highlight."""
    seen = []
    for group in fallback_clauses(query):
        for excluded, text in group:
            if not excluded and text.casefold() not in (t.casefold() for t in seen):
                seen.append(text)
    return seen


def mark_terms(text: str, terms: list[str]) -> str:
    """Wrap each case-insensitive occurrence of `terms` in the highlight markers."""
    if not terms or not text:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    return pattern.sub(lambda m: f"{START}{m.group(0)}{STOP}", text)


def mark_fallback(papers, query: str) -> None:
    """Without PostgreSQL's ts_headline (SQLite), mark the query's words in Python."""
    if connection.vendor == "postgresql":
        return
    terms = fallback_terms(query)
    for paper in papers:
        paper.title_marked = mark_terms(paper.title, terms)
        paper.abstract_marked = mark_terms(paper.abstract, terms)


def web_query(query: str):
    """The tsquery for a visitor's query, in web search syntax ("a phrase", -word, or).

    SearchDocument.vector holds titles and abstracts stemmed in English but author names as
    they are ('simple'), so the query is read both ways: "diffusion" must find
    "diffusions" in a title, and "Williams" or "Kaiming He" must find those authors,
    whose names English stemming and stop words would change.
    """
    return SearchQuery(query, search_type="websearch", config="english") | SearchQuery(
        query, search_type="websearch", config="simple"
    )
