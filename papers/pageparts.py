"""The paper page's reader-independent parts, rendered once and kept (issue 16).

Most of a paper page is the same for every reader: its authors (and the meta tags
that list them), the abstract with its links, the BibTeX entry, the details, the code
and artifacts, who upvoted it, the public collections with it. Rendering those, and
the three queries behind them (all authors, the voters, the collections), was most
of the page's CPU. templates/papers/detail.html marks each such part with
`{% pagepart "name" %}...{% endpagepart %}` (papers_tags); its HTML is cached under a
key made of everything it can show, like papers.cards' cards, so it is never stale
and needs no invalidation: a vote, an edit, a new voter's or author's name, a star
count, a thumbnail or a collection is a new key on the next request, and a hidden
paper is a 404.

A part's key (`_keys`) is a digest of:
- one of three md5s read in the paper's own query (`page_digest_sql`), of what the
  part can show: `page_digest` for most parts (the paper's columns, as papers.cards
  reads them but without the vote and comment counts, which no part shows; its listing
  relations: thumbnail, code signals and repository; the submitter's names; all its
  authors in order), `page_voters_digest` for the voters (the count, the voters listed,
  their names and author badges), `page_relations_digest` for the public collections
  (the rows of every papers.hooks `add_page_relation`). So a vote re-renders the
  voters' part alone;
- the language, the time zone, the host, the settings the parts read (SITE_URL for
  the thumbnail's URL, SITE_NAME, STAR_VELOCITY_DAYS, TRENDING_DAYS) and the static
  files' manifest (KaTeX's URLs);
- the part's name, the paper's id and the deployment's code (papers.cards.code_version).

What belongs to the reader stays outside the parts and is rendered on each request:
the vote and save buttons, the forms with a CSRF token or `next`, the discussion, the
reader's own collections, and the ranking explanation (it reads the clock). The view
passes the parts' inputs lazily (`lazy_list`), so a page whose parts are all cached
runs none of their queries: two queries (the paper, the discussion's state) instead
of five.

PostgreSQL only, as papers.cards: elsewhere every part is rendered every time.
"""

import functools
import hashlib

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.db import connection
from django.db.models import OuterRef
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from . import cards, hooks
from .models import Authorship, Paper
from .models.papers import votes_for_display

# Voters listed on the page (papers/_voters.html); the rest are counted.
VOTERS_SHOWN = 50
# Every part's name, so one round trip to Redis fetches a page's parts.
PARTS = (
    *("math", "title", "description", "meta", "authors", "links", "abstract", "cite"),
    *("related", "details", "signals", "voters", "collections"),
)
# Parts each process keeps in memory (~1-5 kB each).
LOCAL_PARTS = 2000

local_parts = cards._LocalCards(LOCAL_PARTS)


class _Sql:
    value: dict[str, tuple[str, tuple]] | None = None


# Paper columns no part shows but the vote box and the discussion (the reader's parts),
# which change often: a vote re-renders the voters' part alone.
COUNTS = frozenset({"upvote_count", "comment_count"})
# The parts keyed on the voters' digest and on the feature apps' rows; the others on
# the paper's content.
DIGEST_OF_PART = {"voters": "page_voters_digest", "collections": "page_relations_digest"}


def enabled() -> bool:
    return cards.enabled()


def _content_sql(table: str) -> str:
    """The paper's columns (but the counts) and its listing relations' and submitter's
    rows as text: papers.cards.digest_sql's parts without the counts."""
    qn = connection.ops.quote_name
    skipped = cards.CONTENT_EXCLUDED | COUNTS
    columns = ", ".join(
        f"{table}.{qn(f.column)}" for f in Paper._meta.concrete_fields if f.name not in skipped
    )
    parts = [f"ROW({columns})::text"]
    parts += [cards._relation_sql(relation, table) for relation in hooks.listing_relations()]
    user = Paper.submitted_by.field.related_model._meta
    names = ", ".join(
        f"u.{qn(user.get_field(n.split('__')[-1]).column)}" for n in cards.SUBMITTER_FIELDS
    )
    parts.append(
        f"(SELECT ROW({names})::text FROM {qn(user.db_table)} u"
        f" WHERE u.{qn(user.pk.column)} = {table}.{qn(Paper.submitted_by.field.column)})"
    )
    return ", ".join(f"coalesce({part}, '-')" for part in parts)


def page_digest_sql() -> dict[str, tuple[str, tuple]]:
    """{annotation: (SQL, parameters)} of the md5s of what the page's parts show, read
    in the paper's own query: `page_digest` (the paper, its listing relations, all its
    authors), `page_voters_digest` (the count and the voters listed) and
    `page_relations_digest` (the rows of papers.hooks `add_page_relation`). Compiled
    once a process, like cards.digest_sql: the subqueries refer to the paper as
    "papers_paper", the table's name, which the page's query uses as its alias."""
    if _Sql.value is None:
        qn = connection.ops.quote_name
        table = qn(Paper._meta.db_table)
        authors = (
            Authorship.objects.filter(paper=OuterRef("pk"))
            .order_by("position")
            .values(json=JSONObject(name="author__name", slug="author__slug"))
        )
        voters = votes_for_display(OuterRef("pk")).values(
            json=JSONObject(
                username="user__username", name="user__display_name", by_author="by_author"
            )
        )[:VOTERS_SHOWN]
        groups = {
            "page_digest": ([_content_sql(table)], [authors]),
            "page_voters_digest": ([f"{table}.{qn('upvote_count')}::text"], [voters]),
            "page_relations_digest": (["''"], [rows() for rows in hooks.page_relations()]),
        }
        _Sql.value = {}
        for name, (sql_parts, querysets) in groups.items():
            query = Paper.objects.annotate(
                **{f"rows{n}": ArraySubquery(qs) for n, qs in enumerate(querysets)}
            ).query
            compiler = query.get_compiler(connection=connection)
            parts, params = list(sql_parts), []
            for n in range(len(querysets)):
                sql, rows_params = compiler.compile(query.annotations[f"rows{n}"])
                parts.append(f"coalesce(({sql})::text, '-')")
                params.extend(rows_params)
            _Sql.value[name] = (f"md5(concat_ws(chr(29), {', '.join(parts)}))", tuple(params))
    return _Sql.value


def with_page_digest(queryset):
    """The paper page's query, with its parts' digests beside the paper's columns."""
    if not enabled():
        return queryset
    return queryset.annotate(
        **{name: RawSQL(sql, params) for name, (sql, params) in page_digest_sql().items()}
    )


def lazy_list(load):
    """A list built on first use: a part that is cached never needs it."""
    return SimpleLazyObject(lambda: list(load()))


def lazy(load):
    return SimpleLazyObject(load)


@functools.cache
def _manifest() -> str:
    """The static files' manifest (KaTeX's URLs in the "math" part): it may change with
    a deploy without the code changing."""
    return getattr(staticfiles_storage, "manifest_hash", "")


def _settings_read() -> tuple:
    names = ("SITE_URL", "SITE_NAME", "STAR_VELOCITY_DAYS", "TRENDING_DAYS")
    return tuple(getattr(settings, name, None) for name in names)


def _keys(paper, request) -> dict:
    """{part name: cache key} for the paper's page."""
    state = (
        get_language(),
        timezone.get_current_timezone_name(),
        request.get_host() if request is not None else "",
        _manifest(),
        _settings_read(),
    )
    prefix = f"part:{cards.code_version()}:{paper.pk}"
    keys = {}
    for name in PARTS:
        digest = getattr(paper, DIGEST_OF_PART.get(name, "page_digest"))
        hashed = hashlib.blake2b(repr((digest, state)).encode(), digest_size=16).hexdigest()
        keys[name] = f"{prefix}:{name}:{hashed}"
    return keys


def fetch(paper, request):
    """The page's cached parts, read before rendering: from this process's memory,
    the rest in one round trip to Redis. Sets `paper.page_parts`, {name: html}."""
    paper.page_parts, paper.page_part_keys, paper.page_parts_fresh = {}, {}, {}
    if not enabled() or not getattr(paper, "page_digest", None):
        return
    keys = paper.page_part_keys = _keys(paper, request)
    found = local_parts.get_many(keys.values())
    if len(found) < len(keys):
        from_redis = cache.get_many([k for k in keys.values() if k not in found])
        local_parts.put_many(from_redis)
        found.update(from_redis)
    paper.page_parts = {name: found[key] for name, key in keys.items() if key in found}


def render(context, name: str, nodelist) -> str:
    """The part `name` of the page: cached, or rendered (and kept by `store`)."""
    paper = context.get("paper")
    parts = getattr(paper, "page_parts", None)
    if parts is None or not getattr(paper, "page_digest", None):
        return nodelist.render(context)
    html = parts.get(name)
    if html is None:
        html = parts[name] = nodelist.render(context)
        paper.page_parts_fresh[paper.page_part_keys[name]] = html
    return mark_safe(html)  # noqa: S308 (rendered by the template engine, escaped)


def store(paper):
    """Keep the parts this request rendered, in one round trip to Redis."""
    fresh = getattr(paper, "page_parts_fresh", None)
    if fresh:
        local_parts.put_many(fresh)
        cache.set_many(fresh, cards.CARD_CACHE_SECONDS)


def forget():
    """Render every part again from now on, in this process (tests)."""
    cards.forget()
    local_parts.clear()
