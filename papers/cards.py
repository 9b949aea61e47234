"""Paper cards rendered once and kept, keyed on what they show (issue 16).

A list page is its cards: rendering 30 of them through templates/papers/_card.html was
three quarters of an uncached page's CPU (docs/performance-profile.md). Here a card's
HTML is cached under a key made of everything the card shows, so it is never stale and
needs no invalidation: a vote, an edit, a comment, a star count, a thumbnail or a new
author name is a new key, and a hidden paper is not in the list at all.

A card's key (`_key`) is a digest of:
- what it shows: the paper's columns (all but CONTENT_EXCLUDED, which cards don't show
  and which change without anything on them changing), its first authors' names and
  slugs in order, the rows of the relations feature apps join for cards (papers.hooks
  `add_listing_relation`: the thumbnail, the code signals and their repository), and the
  submitter's names. Lists the views build read it as one md5 PostgreSQL computes
  (`digest_sql`); papers already loaded give it from their attributes (`_value_at`,
  JSON columns of the relations aside);
- the viewer's state: signed in or not, and each viewer annotation's value (the vote and
  the save: `user_has_voted`, papers.hooks `add_viewer_annotation`);
- the card's context: the day list's `hide_featured`, whether it is among the first three
  (their thumbnails load at once), search highlights and a match reason, the language
  and the time zone;
- the deployment's code and templates (`code_version`).

What differs between two viewers with the same key is left out of the cached HTML and
put back on each request: the CSRF token (the same on every form of a page) and the
page the forms return to (`next`). The cached card is rendered with a stand-in request
and user that have nothing but `is_authenticated`, so nothing of one visitor can leak
into another's page.

Lists the views build (day, week, month, trending, new, author) go further
(`Deferred`, `rows_in_order`): they read each card's digest beside the page's ids
(with the title and abstract, for has_math), find the cards already rendered with one
`get_many`, and load as objects (their first authors in the same query) and render only
the missing papers. With its cards cached, a page is one narrow query and one round trip
to Redis for them. Other lists (search, the library) pass their loaded papers.
Pages that put controls of their own beside each card (the library's reading list and
collections) take the same cards one by one, as {pk: HTML}, from `render_each`.

Each process keeps the cards it used last in memory too (`local_cards`); as the keys
say what the card shows, an entry there is as exact as one in Redis.

PostgreSQL only (the authors' digest is a string_agg): elsewhere cards are rendered
every time.
"""

import functools
import hashlib
import hmac
import threading
from collections import OrderedDict
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db import connection, models
from django.db.models import OuterRef
from django.db.models.expressions import RawSQL
from django.db.models.functions import JSONObject
from django.template.loader import get_template
from django.utils import timezone
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from . import compiled, hooks
from .models import AUTHORS_ON_CARD, Author, Authorship, Paper

CARD_TEMPLATE = "papers/_card.html"
# Paper columns no card shows, which change without a card changing (rank_score with
# every periodic refresh) or are large (the raw source record).
CONTENT_EXCLUDED = frozenset({"source", "rank_score", "created_at", "modified_at"})
SUBMITTER_FIELDS = ("submitted_by__username", "submitted_by__display_name")
# Cards live this long in Redis: a key names what it shows, so this only bounds memory.
CARD_CACHE_SECONDS = 6 * 60 * 60
# Cards each process keeps in memory (~3 kB each).
LOCAL_CARDS = 3000
# Bump when a card changes for a reason code_version can't see (a library's upgrade, a
# setting a card reads).
CARD_VERSION = 1


def _mark(purpose: str) -> str:
    """A placeholder no paper text can contain: derived from SECRET_KEY. Hex, so
    escaping leaves it as it is."""
    return _mark_for(purpose, settings.SECRET_KEY)


@functools.lru_cache(maxsize=8)
def _mark_for(purpose: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256)
    return f"card{purpose}{digest.hexdigest()[:20]}"


class _Lazy:
    value = None
    generation = 0  # bumped by forget()


def code_version() -> str:
    """A digest of this deployment's templates and Python code (the project's own apps
    and config), read once per process: a deploy that may change how a card looks (a
    template, a filter, a model's URL) changes every key."""
    if _Lazy.value is None:
        salt = f"{CARD_VERSION}|{settings.MEDIA_URL}|{settings.STATIC_URL}"
        digest = hashlib.blake2b(salt.encode(), digest_size=6)
        base = Path(settings.BASE_DIR)
        files = [
            p
            for engine in settings.TEMPLATES
            for d in engine.get("DIRS", ())
            for p in Path(d).rglob("*.html")
        ]
        files += (base / "config").glob("*.py")
        for app in apps.get_app_configs():
            path = Path(app.path)
            if path.is_relative_to(base) and ".venv" not in path.parts:
                files += [p for p in path.rglob("*") if p.suffix in (".py", ".html")]
        for path in sorted(set(files)):
            if "migrations" not in path.parts:
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
        _Lazy.value = digest.hexdigest()
    return f"{_Lazy.value}{_Lazy.generation or ''}"


# --- What a card shows -----------------------------------------------------------------


class _Lookups:
    content: tuple[str, ...] | None = None
    viewer: tuple[str, ...] | None = None
    digest: str | None = None


def content_lookups() -> tuple[str, ...]:
    """The lookups (from Paper) of every value a card shows, but its authors."""
    if _Lookups.content is None:
        lookups = [f.attname for f in Paper._meta.concrete_fields if f.name not in CONTENT_EXCLUDED]
        for relation in hooks.listing_relations():
            model, path = Paper, []
            for part in relation.split("__"):
                model = model._meta.get_field(part).related_model
                path.append(part)
                lookups += [
                    "__".join([*path, f.attname])
                    for f in model._meta.concrete_fields
                    if not isinstance(f, models.JSONField)
                ]
        _Lookups.content = tuple(lookups + list(SUBMITTER_FIELDS))
    return _Lookups.content


def viewer_lookups() -> tuple[str, ...]:
    """The annotations that say what the viewer did (voted, saved): for_listing's
    annotations."""
    if _Lookups.viewer is None:
        _Lookups.viewer = tuple(Paper.objects.for_listing(None).query.annotations)
    return _Lookups.viewer


def digest_sql() -> str:
    """SQL for the md5 of everything a card shows, read beside a list's papers: the
    paper's columns, its first authors, the rows of every listing relation, the
    submitter's names. One expression rather than ~50 joined columns: building and
    compiling that query cost more than rendering the cards it saved."""
    if _Lookups.digest is None:
        qn = connection.ops.quote_name
        table = qn(Paper._meta.db_table)
        columns = ", ".join(
            f"{table}.{qn(f.column)}"
            for f in Paper._meta.concrete_fields
            if f.name not in CONTENT_EXCLUDED
        )
        parts = [f"ROW({columns})::text"]
        authorship, author = Authorship._meta, Authorship.author.field.related_model._meta
        parts.append(
            f"(SELECT string_agg(au.{qn('name')} || chr(31) || au.{qn('slug')}, chr(30)"
            f" ORDER BY a.{qn('position')}) FROM {qn(authorship.db_table)} a"
            f" JOIN {qn(author.db_table)} au ON au.{qn(author.pk.column)} = a.{qn('author_id')}"
            f" WHERE a.{qn('paper_id')} = {table}.{qn(Paper._meta.pk.column)}"
            f" AND a.{qn('position')} < {int(AUTHORS_ON_CARD)})"
        )
        parts += [_relation_sql(relation, table) for relation in hooks.listing_relations()]
        user = Paper.submitted_by.field.related_model._meta
        names = ", ".join(
            f"u.{qn(user.get_field(n.split('__')[-1]).column)}" for n in SUBMITTER_FIELDS
        )
        parts.append(
            f"(SELECT ROW({names})::text FROM {qn(user.db_table)} u"
            f" WHERE u.{qn(user.pk.column)} = {table}.{qn(Paper.submitted_by.field.column)})"
        )
        joined = ", ".join(f"coalesce({part}, '-')" for part in parts)
        _Lookups.digest = f"md5(concat_ws(chr(29), {joined}))"
    return _Lookups.digest


def _relation_sql(relation: str, table: str) -> str:
    """(SELECT ROW(r1.*, r2.*)::text FROM ... WHERE r1 belongs to the paper) for a
    listing relation such as "code_signals__repository"."""
    qn = connection.ops.quote_name
    model, previous, joins, where = Paper, table, [], ""
    for n, part in enumerate(relation.split("__"), 1):
        field = model._meta.get_field(part)
        target = field.related_model._meta
        alias = f"r{n}"
        if field.concrete:  # a foreign key or one-to-one on this side
            on = f"{alias}.{qn(target.pk.column)} = {previous}.{qn(field.column)}"
        else:  # the reverse of one on the other side
            on = f"{alias}.{qn(field.field.column)} = {previous}.{qn(model._meta.pk.column)}"
        if n == 1:
            joins.append(f"{qn(target.db_table)} {alias}")
            where = on
        else:
            joins.append(f"LEFT JOIN {qn(target.db_table)} {alias} ON {on}")
        model, previous = field.related_model, alias
    rows = ", ".join(f"r{n}.*" for n in range(1, len(joins) + 1))
    return f"(SELECT ROW({rows})::text FROM {' '.join(joins)} WHERE {where})"


def _authors_of(paper) -> str | None:
    authorships = getattr(paper, "first_authorships", None)
    if not authorships:
        return None
    return "\x1e".join(f"{a.author.name}\x1f{a.author.slug}" for a in authorships)


def _value_at(obj, lookup: str):
    for part in lookup.split("__"):
        try:
            obj = getattr(obj, part)
        except models.ObjectDoesNotExist:
            return None
        if obj is None:
            return None
    return getattr(obj, "name", obj) if isinstance(obj, models.fields.files.FieldFile) else obj


def enabled() -> bool:
    return connection.vendor == "postgresql"


# --- Rows: what a list needs of a paper before its card --------------------------------


class CardRow:
    """A paper of a list as its key columns (title and abstract among them, for
    has_math), until its card is needed; `source` loads the paper itself on a miss."""

    title_marked = None
    abstract_marked = None
    match_reason = None
    marked_with = None  # a search's words: the card's marks are made from them (_key)
    abstract_fragment = True

    def __init__(self, values: dict, source):
        self.__dict__.update(values)
        self.source = source

    @property
    def content(self) -> tuple:
        return (self.card_digest,)

    @property
    def viewer(self) -> tuple:
        return tuple(self.__dict__[name] for name in viewer_lookups())


class Deferred:
    """A queryset of papers for a list, which Paginator (or UncountedPage) slices into
    CardRows: the key columns only."""

    def __init__(self, queryset, also=()):
        self.queryset = queryset
        self.ordered = queryset.ordered
        self.also = tuple(also)  # more values a page reads of each row (rows_in_order)

    def count(self):
        return self.queryset.count()

    def __len__(self):
        return self.count()

    def __getitem__(self, index):
        if not enabled():
            return self.queryset[index]
        names = _key_names(self.also)
        rows = _key_rows(self.also)(self.queryset)[index]
        if not isinstance(index, slice):
            return CardRow(dict(zip(names, rows, strict=True)), self)
        return [CardRow(dict(zip(names, row, strict=True)), self) for row in rows]

    def papers(self, pks, digest=False) -> dict:
        """The papers whose cards are missing, as for_listing loads them, but with their
        first authors read in the same query (a page without a card cached takes no
        more queries than it took before the card cache)."""
        if not enabled():
            # SQLite (the embedded default) has no arrays to read the authors into:
            # for_listing's own prefetch reads them (one query more), as before.
            return {paper.pk: paper for paper in self.queryset.filter(pk__in=pks)}
        first = (
            Authorship.objects.filter(paper=OuterRef("pk"), position__lt=AUTHORS_ON_CARD)
            .order_by("position")
            .values(
                json=JSONObject(
                    position="position", id="author__id", name="author__name", slug="author__slug"
                )
            )
        )
        papers = (
            self.queryset.prefetch_related(None)
            .order_by()
            .filter(pk__in=pks)
            .annotate(card_first_authors=ArraySubquery(first))
        )
        if digest:
            papers = _annotate_digest(papers)
        by_pk = {}
        for paper in papers:
            paper.first_authorships = [
                CardAuthorship(row["position"], CardAuthor(row["id"], row["name"], row["slug"]))
                for row in paper.card_first_authors
            ]
            by_pk[paper.pk] = paper
        return by_pk


class CardAuthor:
    """What a card shows of an Author: its name and its page. Made for each first author
    of each card rendered; a model instance (and its Authorship) cost ~10 % of a card."""

    __slots__ = ("id", "name", "slug")

    def __init__(self, id, name, slug):  # noqa: A002 (the Author's field name)
        self.id, self.name, self.slug = id, name, slug

    @property
    def pk(self):
        return self.id

    def __str__(self):
        return self.name

    get_absolute_url = Author.get_absolute_url


class CardAuthorship:
    """An author's place on a card (`first_authorships`, as for_listing's prefetch
    gives them as Authorships)."""

    __slots__ = ("position", "author")

    def __init__(self, position, author):
        self.position, self.author = position, author


class Described(Deferred):
    """A list given as `build(**values)`, a module-level function that returns its
    queryset, rather than as the queryset: its count and its pages' key rows run SQL
    compiled once per shape (papers.compiled.shaped), with this request's values put in.
    Building and compiling a list's querysets was ~30 % of an uncached daily page's CPU.
    The queryset itself is built only for cards the cache misses, and on SQLite."""

    ordered = True  # lists described are ordered, or put in order (rows_in_order)

    def __init__(self, build, also=(), **values):
        self.build, self.also, self.values = build, tuple(also), values

    @functools.cached_property
    def queryset(self):
        return self.build(**self.values)

    def count(self):
        if not enabled():
            return self.queryset.count()
        counted = compiled.shaped(self.build, finish=_ids, sql=COUNT_SQL, **self.values)
        return counted.rows()[0][0]

    def __getitem__(self, index):
        if not enabled() or not isinstance(index, slice) or index.step is not None:
            return super().__getitem__(index)
        start, stop = index.start or 0, index.stop
        if start < 0 or (stop is not None and stop < start):
            return super().__getitem__(index)
        finish = _key_rows(self.also)
        if stop is None and not start:
            found = compiled.shaped(self.build, finish=finish, **self.values).run()
        else:
            found = compiled.shaped(
                self.build, finish=finish, sql=PAGE_SQL, extra=("limit", "offset"), **self.values
            ).run(limit=None if stop is None else stop - start, offset=start)
        names = _key_names(self.also)
        return [CardRow(dict(zip(names, row, strict=True)), self) for row in found]

    def among(self, pks, also=()) -> "Described":
        """The papers of this list with these ids."""
        return Described(_among, also=also, inner=self.build, pks=list(pks), **self.values)


def listed(user) -> Described:
    """Paper.objects.for_listing(user) as a Described list, for rows_in_order."""
    return Described(_for_listing, user=user)


def _for_listing(user):
    return Paper.objects.for_listing(user)


COUNT_SQL = "SELECT COUNT(*) FROM ({}) counted"
PAGE_SQL = "{} LIMIT %s OFFSET %s"


def _among(inner, pks, **values):
    return inner(**values).filter(pk__in=pks)


def _ids(queryset):
    return queryset.order_by().values_list("pk")


def _key_names(also) -> tuple:
    return ("pk", "title", "abstract", "card_digest", *viewer_lookups(), *also)


@functools.cache
def _key_rows(also: tuple):
    """The finish (papers.compiled.shaped) that reads a list's key rows and `also`."""

    def key_rows(queryset):
        return _annotate_digest(queryset.prefetch_related(None)).values_list(*_key_names(also))

    return key_rows


def with_digest(queryset):
    """Papers loaded for cards (search, "for you") with `card_digest` read beside them:
    their cards' keys without reading ~50 values of each loaded paper in Python (a fifth
    of a search page's CPU), and the same keys as the lists' cards."""
    return _annotate_digest(queryset) if enabled() else queryset


def _annotate_digest(queryset):
    return queryset.annotate(card_digest=RawSQL(digest_sql(), ()))


def rows_in_order(queryset, pks, also=(), marked_with=None) -> list:
    """The papers with these ids that `queryset` (or a Described list) has, in the order
    of `pks`: CardRows when this process served all their cards lately (they are likely
    cached), else the papers themselves with their keys, in one query (a page nobody
    asked for lately takes no more queries than before the card cache). `also`: the
    fields or the queryset's annotations a page reads of each paper besides its card
    (the library's arxiv_id and saved and read dates), on the CardRows too.
    `marked_with`: a search's words, which its cards are marked with (_key): cards
    served lately with other words or none are not likely cached."""
    if not pks:
        return []
    if isinstance(queryset, Described):
        deferred = queryset.among(pks, also)
    else:
        deferred = Deferred(queryset.filter(pk__in=pks), also)
    if enabled() and seen_lately.has_all(_seen_key(marked_with, pk) for pk in pks):
        by_pk = {row.pk: row for row in deferred[:]}
    else:
        by_pk = deferred.papers(pks, digest=enabled())
    return [by_pk[pk] for pk in pks if pk in by_pk]


# --- Rendering --------------------------------------------------------------------------


class _LocalCards:
    def __init__(self, size):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

    def get_many(self, keys) -> dict:
        found = {}
        with self.lock:
            for key in keys:
                html = self.entries.get(key)
                if html is not None:
                    self.entries.move_to_end(key)
                    found[key] = html
        return found

    def put_many(self, entries: dict):
        with self.lock:
            self.entries.update(entries)
            for key in entries:
                self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self):
        with self.lock:
            self.entries.clear()


local_cards = _LocalCards(LOCAL_CARDS)


class _SeenLately:
    """The papers whose cards this process served lately: ids, and (words, id) for a
    search's cards (_seen_key)."""

    def __init__(self, size):
        self.size, self.pks, self.lock = size, OrderedDict(), threading.Lock()

    def add(self, pks):
        with self.lock:
            for pk in pks:
                self.pks[pk] = None
                self.pks.move_to_end(pk)
            while len(self.pks) > self.size:
                self.pks.popitem(last=False)

    def has_all(self, pks) -> bool:
        return all(pk in self.pks for pk in pks)

    def clear(self):
        with self.lock:
            self.pks.clear()


seen_lately = _SeenLately(4 * LOCAL_CARDS)


def _seen_key(words, pk):
    """How seen_lately knows a card: its paper's id, with the words of a search's."""
    return pk if words is None else (words, pk)


def forget(queries: bool = True):
    """Render every card again from now on, in this process (tests; the shell after
    changing a card by hand): new keys, and nothing kept in memory. `queries`: the
    compiled list queries too (bench/render_cpu.py --cold keeps them, as a process
    that meets a card it has not rendered still has them)."""
    _Lazy.generation += 1
    local_cards.clear()
    seen_lately.clear()
    if queries:
        compiled.forget()


class _Viewer:
    """The user a cached card is rendered for: signed in or not, nothing else."""

    def __init__(self, is_authenticated: bool):
        self.is_authenticated = is_authenticated
        self.is_anonymous = not is_authenticated


class _Request:
    """The request a cached card is rendered with: its `next` fields get a placeholder."""

    htmx = False

    def __init__(self, next_mark):
        self.next_mark = next_mark

    def get_full_path(self):
        return self.next_mark


def _key(paper, position: int, context, authenticated: bool) -> str:
    if isinstance(paper, CardRow):
        content, viewer = paper.content, paper.viewer
    elif getattr(paper, "card_digest", None):
        content = (paper.card_digest,)
        viewer = tuple(getattr(paper, name, None) for name in viewer_lookups())
    else:
        content = tuple(_value_at(paper, name) for name in content_lookups())
        content += (_authors_of(paper),)
        viewer = tuple(getattr(paper, name, None) for name in viewer_lookups())
    words = getattr(paper, "marked_with", None)
    if words is not None:
        # A search's marks are PostgreSQL's headlines of the card's title and abstract
        # (in its content digest) for these words: the words stand for the marks in the
        # key, so a page's rows need not make headlines for cards that are cached.
        marks = (words, getattr(paper, "abstract_fragment", True), paper.match_reason)
    else:
        marks = (paper.title_marked, paper.abstract_marked, paper.match_reason)
    state = (
        get_language(),
        timezone.get_current_timezone_name(),
        authenticated,
        viewer,
        bool(context.get("hide_featured")),
        position <= 3,
        marks if any(marks) else None,
    )
    digest = hashlib.blake2b(repr((content, state)).encode(), digest_size=16).hexdigest()
    return f"card:{code_version()}:{paper.pk}:{digest}"


def _next_of(request) -> str:
    """The `next` field's value, as the vote and save buttons render it."""
    if request.htmx:
        return request.htmx.current_url_abs_path or ""
    return request.get_full_path()


# Each card laid out as the loop it replaces laid them out (the HTML stays the same).
_LAYOUT = "\n    {}\n  "


def render_cards(context, papers) -> str:
    """The cards of `papers` (CardRows or papers from for_listing), as
    templates/papers/_paper_list.html's loop of _card.html would render them."""
    papers = list(papers)
    if not papers:
        return ""
    if not enabled():
        return mark_safe("".join(_LAYOUT.format(html) for html in _render(context, papers)))  # noqa: S308 (rendered by the template engine)
    keys, found = _cards_for(context, papers)
    html = "".join(_LAYOUT.format(found[key]) for key in keys if key in found)
    return mark_safe(_for_this_request(context, html))  # noqa: S308 (rendered by the template engine, escaped)


def render_each(context, papers) -> dict:
    """{paper's pk: its card's HTML} for pages that put each card beside controls of
    their own (the library's read toggle and saved date, a collection's note and its
    owner's tools): the same cards, from the same cache, as render_cards, the first
    three of `papers` as the first three of a list. A paper whose card could not be
    made (a CardRow hidden since it was read) is left out."""
    papers = list(papers)
    if not papers:
        return {}
    if not enabled():
        rendered = _render(context, papers)
        return {paper.pk: mark_safe(html) for paper, html in zip(papers, rendered, strict=True)}  # noqa: S308 (rendered by the template engine)
    keys, found = _cards_for(context, papers)
    return {
        paper.pk: mark_safe(_for_this_request(context, found[key]))  # noqa: S308 (rendered by the template engine, escaped)
        for paper, key in zip(papers, keys, strict=True)
        if key in found
    }


def _cards_for(context, papers) -> tuple[list, dict]:
    """(each paper's key, {key: cached HTML}): from this process's memory, then Redis
    (one round trip), then rendered (and kept) for the papers neither had."""
    user = context.get("user")
    authenticated = bool(user is not None and user.is_authenticated)
    keys = [_key(paper, i, context, authenticated) for i, paper in enumerate(papers, 1)]
    found = local_cards.get_many(keys)
    if len(found) < len(keys):
        wanted = [key for key in keys if key not in found]
        from_redis = cache.get_many(wanted)
        local_cards.put_many(from_redis)
        found.update(from_redis)
    missing = [(i, paper) for i, paper in enumerate(papers, 1) if keys[i - 1] not in found]
    if missing:
        fresh = _render_missing(context, missing, keys, authenticated)
        local_cards.put_many(fresh)
        cache.set_many(fresh, CARD_CACHE_SECONDS)
        found.update(fresh)
    seen_lately.add(_seen_key(getattr(paper, "marked_with", None), paper.pk) for paper in papers)
    return keys, found


def _for_this_request(context, html: str) -> str:
    """Cached cards' HTML with this request's CSRF token and `next` put back."""
    csrf_mark, next_mark = _mark("csrf"), _mark("next")
    if csrf_mark in html:
        html = html.replace(csrf_mark, str(context.get("csrf_token", "")))
    if next_mark in html:
        html = html.replace(next_mark, str(conditional_escape(_next_of(context["request"]))))
    return html


def _render_missing(context, missing, keys, authenticated) -> dict:
    """The cards not cached, rendered for nobody in particular: the CSRF token and
    `next` as placeholders, a viewer who is only signed in or not. CardRows become
    papers first (one query)."""
    rows = [paper for _, paper in missing if isinstance(paper, CardRow)]
    loaded = {}
    if rows:
        loaded = rows[0].source.papers([row.pk for row in rows])
    fresh = {}
    template = get_template(CARD_TEMPLATE).template
    request, viewer = _Request(_mark("next")), _Viewer(authenticated)
    for position, paper in missing:
        key = keys[position - 1]
        if isinstance(paper, CardRow):
            row, paper = paper, loaded.get(paper.pk)
            if paper is None:  # hidden since the rows were read
                continue
            # What the key was made with: a search's marks (made by the paper's query
            # from the row's words) and reason, set on the row.
            if row.marked_with is None:
                paper.title_marked, paper.abstract_marked = row.title_marked, row.abstract_marked
            elif not row.abstract_fragment:
                paper.abstract_marked = None
            paper.match_reason = row.match_reason
        with context.push(
            paper=paper,
            request=request,
            user=viewer,
            csrf_token=_mark("csrf"),
            forloop={"counter": position},
            vote_error=None,
        ):
            fresh[key] = template.render(context)
    return fresh


def _render(context, papers) -> list[str]:
    """Each card, rendered for this request (card caching off), in order."""
    template = get_template(CARD_TEMPLATE).template
    parts = []
    for position, paper in enumerate(papers, 1):
        with context.push(paper=paper, forloop={"counter": position}):
            parts.append(template.render(context))
    return parts
