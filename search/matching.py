"""Full-text matching of papers: the visitor's query over title, authors and abstract,
ranked, with highlights. Each function takes a Paper queryset (the caller's filters
narrow the matches first) and the query as typed; fulltext.py reads the query.

PostgreSQL matches through the GIN index on papers.SearchDocument.vector; SQLite (the
embedded default) falls back to substrings (_search_without_full_text).
"""

from django.contrib.postgres.search import SearchHeadline, SearchRank
from django.db import connection
from django.db.models import Case, F, FloatField, Func, IntegerField, Q, Value, When
from django.db.models.functions import Cast, Extract
from django.db.models.lookups import GreaterThan

from papers import compiled, highlight
from papers.models import Paper

from . import fulltext


def _newest_key(row):
    """Sort key of (pk, seconds since the epoch of published_at) rows in newest()'s
    order, descending: published first (NULLS LAST), the latest first, then the highest
    id. Seconds as a float from the database: loading thousands of datetimes costs
    more than the rest of the page."""
    pk, published = row
    return (published is not None, published or 0, pk)


def search_matches(papers, query: str):
    """Papers matching `query` over title, authors and abstract, unordered, with
    `search_rank` (higher is better).

    On PostgreSQL: websearch_to_tsquery syntax ("quoted phrases", -exclusions, or),
    matched through the GIN index on SearchDocument.vector (or, for a word most
    papers contain, a scan of those narrow rows that stops at the first matches).
    Elsewhere: every word in the title, abstract or authors, all ranked 0.
    """
    query = fulltext.clean_query(query)
    if not fulltext.has_words(query):
        return papers.none().annotate(search_rank=Value(0.0))
    if connection.vendor != "postgresql":
        return _search_without_full_text(papers, query)
    return _full_text_matches(papers, query)


def _full_text_matches(papers, query: str):
    """search_matches on PostgreSQL, for a query clean_query has cleaned."""
    tsquery = fulltext.web_query(query)
    return (
        papers.visible()
        # A query of only punctuation parses to an empty tsquery. PostgreSQL
        # checks this constant condition once, before any scan ("One-Time Filter").
        .filter(GreaterThan(Func(tsquery, function="numnode", output_field=IntegerField()), 0))
        .filter(search_document__vector=tsquery)
        .annotate(search_rank=SearchRank(F("search_document__vector"), tsquery))
    )


# The best of the candidates (_ranked_rows' columns: rank, upvotes, id), ranked by
# PostgreSQL as search_ids ranks them.
TOP_SQL = "SELECT * FROM ({}) candidates ORDER BY 1 DESC, 2 DESC, 3 DESC LIMIT %s"


def search_ids(papers, query: str, newest: bool = False, top: int | None = None) -> list[int]:
    """The ids of the first fulltext.CANDIDATE_LIMIT papers matching `query`, best
    first (or newest first), in one query.

    Only that many matches are ranked, so a common word costs no more than a rare
    one; they are fetched with their rank and sorted here, so the list's length is
    the result count and a page of it is fetched by id (with_search_marks) without
    matching again. Filters applied to `papers` narrow the matches first; `papers`
    None is every paper, by SQL compiled once per process (papers.compiled: building
    this query cost more CPU than PostgreSQL spent running it for a rare word).

    `top`: only the best `top` of them (best first: not with `newest`), for a caller
    that uses no more (hybrid search fuses the keyword list's best 50). Unfiltered on
    PostgreSQL, the database ranks the candidates and sends those alone: reading and
    sorting 2,000 rows for a common word was a sixth of a search's CPU.
    """
    if top is not None and newest:
        raise ValueError("top is the best matches, not the newest")
    finish = _published_rows if newest else _ranked_rows
    if papers is None:
        query = fulltext.clean_query(query)
        if connection.vendor == "postgresql" and fulltext.has_words(query):
            if top is not None:
                best = compiled.shaped(
                    _matches_everywhere, finish=finish, sql=TOP_SQL, extra=("top",), query=query
                )
                return [r[2] for r in best.rows(top=top)]
            # As the driver gives them: floats and ints, nothing to convert (the ORM's
            # converters on 2,000 rows cost more than sending the query).
            rows = compiled.shaped(_matches_everywhere, finish=finish, query=query).rows()
        else:
            rows = finish(search_matches(Paper.objects.all(), query))
    else:
        rows = finish(search_matches(papers, query))
    if newest:
        return [r[0] for r in sorted(rows, key=_newest_key, reverse=True)]
    # (rank, upvotes, id) rows: best rank first, then the most upvoted, then the newest id.
    return [r[2] for r in sorted(rows, reverse=True)][:top]


def _matches_everywhere(query):
    return _full_text_matches(Paper.objects.all(), query)


def _ranked_rows(matches):
    return matches.values_list("search_rank", "upvote_count", "pk")[: fulltext.CANDIDATE_LIMIT]


def _published_rows(matches):
    published = F("published_at")
    if connection.vendor == "postgresql":
        published = Cast(Extract("published_at", "epoch"), FloatField())
    rows = matches.annotate(published=published).values_list("pk", "published")
    return rows[: fulltext.CANDIDATE_LIMIT]


def with_search_marks(papers, query: str, cleaned: bool = False):
    """`title_marked` and `abstract_marked`: the text with the matches of `query`
    between highlight markers (render with papers.highlight.render_marked, never as
    HTML). PostgreSQL's ts_headline; elsewhere fulltext.mark_fallback does it.
    `cleaned`: the query went through fulltext.clean_query already (and reaches the SQL
    as given, as papers.compiled.shaped needs)."""
    if not cleaned:
        query = fulltext.clean_query(query)
    if connection.vendor != "postgresql":
        return papers.annotate(title_marked=F("title"), abstract_marked=F("abstract"))
    tsquery = fulltext.web_query(query)
    marks = {"start_sel": highlight.START, "stop_sel": highlight.STOP, "config": "english"}
    return papers.annotate(
        title_marked=SearchHeadline("title", tsquery, highlight_all=True, **marks),
        abstract_marked=SearchHeadline(
            "abstract",
            tsquery,
            max_fragments=2,
            min_words=15,
            max_words=35,
            fragment_delimiter=" … ",
            **marks,
        ),
    )


def _search_without_full_text(papers, query: str):
    """SQLite (the embedded default): the same syntax as on PostgreSQL, read by
    fulltext.fallback_clauses and matched as substrings of title, authors and
    abstract. Best match first: a text found in the title counts 3, in the authors
    2, in the abstract 1, then upvotes."""
    groups = fulltext.fallback_clauses(query)
    if not groups:
        return papers.none()

    def anywhere(text):
        return (
            Q(title__icontains=text) | Q(author_names__icontains=text) | Q(abstract__icontains=text)
        )

    matches = Q()
    for group in groups:
        both = Q()
        for excluded, text in group:
            both &= ~anywhere(text) if excluded else anywhere(text)
        matches |= both
    score = Value(0.0)
    for text in fulltext.fallback_terms(query):
        for field, weight in (("title", 3.0), ("author_names", 2.0), ("abstract", 1.0)):
            hit = When(**{f"{field}__icontains": text}, then=Value(weight))
            score += Case(hit, default=Value(0.0), output_field=FloatField())
    return (
        papers.visible()
        .filter(matches)
        .annotate(search_rank=score, title_marked=F("title"), abstract_marked=F("abstract"))
        .order_by("-search_rank", "-upvote_count", "-id")
    )
