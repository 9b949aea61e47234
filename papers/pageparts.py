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

The key (`_key`) is a digest of:
- `page_digest`, read in the paper's own query (`page_digest_sql`): the md5 of
  papers.cards' card digest (the paper's columns, its listing relations: thumbnail,
  code signals and repository, the submitter's names) and of the rows the page shows
  besides: all authors in order, the voters shown (names, author badge), and the rows
  of every papers.hooks `add_page_relation` (the library's public collections);
- the language, the time zone, the host, the settings the parts read (SITE_URL for
  the thumbnail's URL, SITE_NAME, STAR_VELOCITY_DAYS) and the static files' manifest;
- the part's name and the deployment's code (papers.cards.code_version).

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
    value: tuple[str, tuple] | None = None


def enabled() -> bool:
    return cards.enabled()


def _shown_rows():
    """values() querysets of what the parts show besides the card's digest, each for
    the paper `OuterRef("pk")`."""
    authors = (
        Authorship.objects.filter(paper=OuterRef("pk"))
        .order_by("position")
        .values(json=JSONObject(name="author__name", slug="author__slug"))
    )
    voters = votes_for_display(OuterRef("pk")).values(
        json=JSONObject(username="user__username", name="user__display_name", by_author="by_author")
    )[:VOTERS_SHOWN]
    return [authors, voters, *(rows() for rows in hooks.page_relations())]


def page_digest_sql() -> tuple[str, tuple]:
    """SQL (and its parameters) for the md5 of everything the page's parts show, read
    in the paper's own query. Compiled once a process, like cards.digest_sql: the
    subqueries refer to the paper as "papers_paper", the table's name, which the
    page's query uses as its alias."""
    if _Sql.value is None:
        rows = _shown_rows()
        query = Paper.objects.annotate(
            **{f"part{n}": ArraySubquery(qs) for n, qs in enumerate(rows)}
        ).query
        compiler = query.get_compiler(connection=connection)
        parts, params = [cards.digest_sql()], []
        for n in range(len(rows)):
            sql, part_params = compiler.compile(query.annotations[f"part{n}"])
            parts.append(f"coalesce(({sql})::text, '-')")
            params.extend(part_params)
        _Sql.value = (f"md5(concat_ws(chr(29), {', '.join(parts)}))", tuple(params))
    return _Sql.value


def with_page_digest(queryset):
    """The paper page's query, with `page_digest` beside the paper's columns."""
    if not enabled():
        return queryset
    sql, params = page_digest_sql()
    return queryset.annotate(page_digest=RawSQL(sql, params))


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
        paper.page_digest,
        get_language(),
        timezone.get_current_timezone_name(),
        request.get_host() if request is not None else "",
        _manifest(),
        _settings_read(),
    )
    digest = hashlib.blake2b(repr(state).encode(), digest_size=16).hexdigest()
    prefix = f"part:{cards.code_version()}:{paper.pk}"
    return {name: f"{prefix}:{name}:{digest}" for name in PARTS}


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
