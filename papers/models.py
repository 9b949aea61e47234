import datetime as dt
import re
import unicodedata

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import IntegrityError, connection, models, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Extract
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from . import links, ranking, search
from .arxiv_ids import is_old_style, validate_arxiv_id

AUTHORS_ON_CARD = 5
RELATED_PAPERS = 5
# How many papers sharing title words are ranked to pick the related ones.
RELATED_CANDIDATES = 300
# Words too common in paper titles to say two papers are related.
_TITLE_STOPWORDS = frozenset(
    """a an and are as at be by for from in into is it its of on or our the their this to
    toward towards via we with without using based new approach approaches method methods
    study analysis paper results model models""".split()
)


def normalise_name(name: str) -> str:
    """The key authors are matched on: accents folded, case folded, punctuation and
    spacing collapsed. "José  García-Pérez" and "Jose Garcia Perez" match."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", stripped.casefold()).split())


def slug_for(normalised: str) -> str:
    return normalised.replace(" ", "-")


def _newest_key(row):
    """Sort key of (pk, seconds since the epoch of published_at) rows in newest()'s
    order, descending: published first (NULLS LAST), the latest first, then the highest
    id. Seconds as a float from the database: loading thousands of datetimes costs
    more than the rest of the page."""
    pk, published = row
    return (published is not None, published or 0, pk)


class PaperQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(is_hidden=False)

    def featured(self):
        return self.filter(daily_date__isnull=False)

    def on_day(self, day: dt.date):
        return self.filter(daily_date=day)

    def featured_between(self, first: dt.date, last: dt.date):
        return self.filter(daily_date__gte=first, daily_date__lte=last)

    def ranked(self):
        """Most upvoted first, as the daily, week and month lists show them."""
        return self.order_by("-upvote_count", "-published_at", "-id")

    def trending(self, now: dt.datetime | None = None):
        now = now or timezone.now()
        since = (now - dt.timedelta(days=settings.TRENDING_DAYS)).date()
        return self.featured().filter(daily_date__gte=since).order_by("-rank_score", "-id")

    def refresh_rank_scores(self, now: dt.datetime | None = None) -> int:
        """Recompute the trending score of every paper in the trending window, as they
        age. Votes rewrite a single paper's score at once (Paper._count_update)."""
        now = now or timezone.now()
        papers = list(self.trending(now).only("pk", "upvote_count", "daily_date", "rank_score"))
        for paper in papers:
            paper.rank_score = ranking.hot_score(paper.upvote_count, paper.daily_date, now)
        # Written with the count read above: a vote landing in between rewrites its
        # paper's score itself, so the next refresh is at most one period late.
        self.model.objects.bulk_update(papers, ["rank_score"], batch_size=1000)
        return len(papers)

    def newest(self):
        return self.order_by(F("published_at").desc(nulls_last=True), "-id")

    def in_category(self, category: str):
        """Papers listing `category` among their categories (primary or cross-list)."""
        if category.endswith(".*"):
            # A whole archive, e.g. "cs.*".
            return self.filter(primary_category__startswith=category[:-1])
        if connection.vendor == "postgresql":
            return self.filter(categories__contains=[category])  # GIN-indexed jsonb @>
        return self.filter(categories__icontains=f'"{category}"')

    def with_user_votes(self, user):
        if user is None or not user.is_authenticated:
            return self.annotate(user_has_voted=Value(False, output_field=models.BooleanField()))
        return self.annotate(
            user_has_voted=Exists(Vote.objects.filter(paper=OuterRef("pk"), user=user))
        )

    def for_listing(self, user=None):
        """Everything a paper card needs, in a fixed number of queries whatever the
        page length: the papers (with the viewer's vote and the submitter) and one
        query for the first authors of all of them."""
        first_authors = Authorship.objects.select_related("author").order_by("position")
        return (
            self.visible()
            .select_related("submitted_by")
            .prefetch_related(
                Prefetch(
                    "authorships",
                    queryset=first_authors.filter(position__lt=AUTHORS_ON_CARD),
                    to_attr="first_authorships",
                )
            )
            .with_user_votes(user)
        )

    def with_all_authors(self):
        """Every author of each paper, in order, as `all_authorships` (one query)."""
        return self.prefetch_related(
            Prefetch(
                "authorships",
                queryset=Authorship.objects.select_related("author").order_by("position"),
                to_attr="all_authorships",
            )
        )

    def published_between(self, first: dt.date | None, last: dt.date | None):
        """Papers first published on arXiv between two days (inclusive, UTC). A range on
        the column itself, so the paper_newest index serves it."""
        papers = self
        if first:
            papers = papers.filter(published_at__gte=ranking.featured_at(first))
        if last:
            end = ranking.featured_at(last + dt.timedelta(days=1))
            papers = papers.filter(published_at__lt=end)
        return papers

    def by_author(self, author):
        return self.filter(authorships__author=author)

    def ids_by_author_newest(self, author) -> list[int]:
        """The ids of `author`'s visible papers, newest first (as newest()). All of them
        (a few thousand for the busiest author), read through the author's authorships
        and paper_visible_sort_keys and sorted: with a LIMIT instead, PostgreSQL walks
        every paper newest first, looking for the author's."""
        return list(self.visible().by_author(author).newest().values_list("pk", flat=True))

    # --- A user's papers (the tabs of their profile) ----------------------------------
    # Each starts from the user's own rows through an index that leads with the user
    # (votes: one_vote_per_user_per_paper; papers: submitted_by; authors: claimed_by),
    # so it costs what the user has, never a pass over every paper.

    def upvoted_by(self, user):
        """Papers `user` upvoted, latest vote first, with `voted_at`. A join through
        the votes (one join: the annotation reuses the filter's)."""
        return (
            self.filter(votes__user=user)
            .annotate(voted_at=F("votes__created_at"))
            .order_by("-voted_at", "-id")
        )

    def submitted_by(self, user):
        return self.filter(submitted_by=user).newest()

    def by_claimed_author(self, user):
        """Papers of the authors `user` has claimed (a paper with two of them, once)."""
        authored = Authorship.objects.filter(author__claimed_by=user).values("paper")
        return self.filter(pk__in=authored).newest()

    # --- Days with featured papers ---------------------------------------------------

    def latest_day(self) -> dt.date | None:
        """The most recent day with visible featured papers."""
        return self.visible().featured().aggregate(day=Max("daily_date"))["day"]

    def neighbour_days(self, first: dt.date, last: dt.date) -> tuple[dt.date | None, ...]:
        """The nearest days with visible featured papers before `first` and after `last`,
        skipping empty days, in one query: two index lookups as scalar subqueries."""
        days = self.model.objects.visible().featured()
        before = days.filter(daily_date__lt=first).order_by("-daily_date")
        after = days.filter(daily_date__gt=last).order_by("daily_date")
        # Any one row carries the two subqueries; an empty table has no neighbours.
        row = (
            self.model.objects.annotate(
                before=Subquery(before.values("daily_date")[:1]),
                after=Subquery(after.values("daily_date")[:1]),
            )
            .values_list("before", "after")
            .first()
        )
        return row or (None, None)

    def featured_days(self):
        """Every day with visible featured papers, newest first (for the sitemap)."""
        return (
            self.visible()
            .featured()
            .order_by("-daily_date")
            .values_list("daily_date", flat=True)
            .distinct()
        )

    # --- Search ---------------------------------------------------------------------

    def search_matches(self, query: str):
        """Papers matching `query` over title, authors and abstract, unordered, with
        `search_rank` (higher is better).

        On PostgreSQL: websearch_to_tsquery syntax ("quoted phrases", -exclusions, or),
        matched through the GIN index on SearchDocument.vector (or, for a word most
        papers contain, a scan of those narrow rows that stops at the first matches).
        Elsewhere: every word in the title, abstract or authors, all ranked 0.
        """
        query = search.clean_query(query)
        if not search.has_words(query):
            return self.none().annotate(search_rank=Value(0.0))
        if connection.vendor != "postgresql":
            return self._search_without_full_text(query)
        from django.contrib.postgres.search import SearchRank

        tsquery = search.web_query(query)
        return (
            self.visible()
            # A query of only punctuation parses to an empty tsquery. PostgreSQL
            # checks this constant condition once, before any scan ("One-Time Filter").
            .filter(GreaterThan(Func(tsquery, function="numnode", output_field=IntegerField()), 0))
            .filter(search_document__vector=tsquery)
            .annotate(search_rank=SearchRank(F("search_document__vector"), tsquery))
        )

    def search_ids(self, query: str, newest: bool = False) -> list[int]:
        """The ids of the first search.CANDIDATE_LIMIT papers matching `query`, best
        first (or newest first), in one query.

        Only that many matches are ranked, so a common word costs no more than a rare
        one; they are fetched with their rank and sorted here, so the list's length is
        the result count and a page of it is fetched by id (with_search_marks) without
        matching again. Filters applied to this queryset narrow the matches first.
        """
        matches = self.search_matches(query)
        if newest:
            published = F("published_at")
            if connection.vendor == "postgresql":
                published = Cast(Extract("published_at", "epoch"), FloatField())
            rows = matches.annotate(published=published).values_list("pk", "published")
            rows = rows[: search.CANDIDATE_LIMIT]
            return [r[0] for r in sorted(rows, key=_newest_key, reverse=True)]
        rows = matches.values_list("pk", "search_rank", "upvote_count")[: search.CANDIDATE_LIMIT]
        return [r[0] for r in sorted(rows, key=lambda r: (r[1], r[2], r[0]), reverse=True)]

    def with_search_marks(self, query: str):
        """`title_marked` and `abstract_marked`: the text with the matches of `query`
        between highlight markers (render with papers.search.render_marked, never as
        HTML). PostgreSQL's ts_headline; elsewhere search.mark_fallback does it."""
        query = search.clean_query(query)
        if connection.vendor != "postgresql":
            return self.annotate(title_marked=F("title"), abstract_marked=F("abstract"))
        from django.contrib.postgres.search import SearchHeadline

        tsquery = search.web_query(query)
        marks = {"start_sel": search.START, "stop_sel": search.STOP, "config": "english"}
        return self.annotate(
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

    def _search_without_full_text(self, query: str):
        """SQLite (the embedded default): the same syntax as on PostgreSQL, read by
        search.fallback_clauses and matched as substrings of title, authors and
        abstract. Best match first: a text found in the title counts 3, in the authors
        2, in the abstract 1, then upvotes."""
        groups = search.fallback_clauses(query)
        if not groups:
            return self.none()

        def anywhere(text):
            return (
                Q(title__icontains=text)
                | Q(author_names__icontains=text)
                | Q(abstract__icontains=text)
            )

        matches = Q()
        for group in groups:
            both = Q()
            for excluded, text in group:
                both &= ~anywhere(text) if excluded else anywhere(text)
            matches |= both
        score = Value(0.0)
        for text in search.fallback_terms(query):
            for field, weight in (("title", 3.0), ("author_names", 2.0), ("abstract", 1.0)):
                hit = When(**{f"{field}__icontains": text}, then=Value(weight))
                score += Case(hit, default=Value(0.0), output_field=FloatField())
        return (
            self.visible()
            .filter(matches)
            .annotate(search_rank=score, title_marked=F("title"), abstract_marked=F("abstract"))
            .order_by("-search_rank", "-upvote_count", "-id")
        )

    def related_to(self, paper, limit: int = RELATED_PAPERS):
        """Papers whose text shares words with `paper`'s title, most similar first.

        On PostgreSQL the title's significant words become a query that matches papers
        sharing at least two of them (any one, for a short title), through the GIN index;
        the first RELATED_CANDIDATES matches are ranked by how many of the words they
        share, and where (title first). Elsewhere: the newest papers in the
        same primary category.
        """
        others = self.visible().exclude(pk=paper.pk)
        if connection.vendor != "postgresql":
            if not paper.primary_category:
                return others.none()
            return others.filter(primary_category=paper.primary_category).newest()[:limit]
        from django.contrib.postgres.search import SearchQuery, SearchRank

        words = title_keywords(paper.title)
        if not words:
            return others.none()
        any_word = " | ".join(words)
        if len(words) >= 3:
            # At least two of the words: one shared word is too weak a link.
            matching = " | ".join(
                f"({a} & {b})" for i, a in enumerate(words) for b in words[i + 1 :]
            )
        else:
            matching = any_word
        vector = F("search_document__vector")
        candidates = others.filter(
            search_document__vector=SearchQuery(matching, search_type="raw", config="english")
        ).values("pk")[:RELATED_CANDIDATES]
        # Ranked against any of the words, so that papers sharing more of them come first.
        shared = SearchQuery(any_word, search_type="raw", config="english")
        return (
            self.model.objects.filter(pk__in=candidates)
            .annotate(similarity=SearchRank(vector, shared))
            .order_by("-similarity", "-upvote_count", "-id")[:limit]
        )


def title_keywords(title: str, limit: int = 12) -> list[str]:
    """A title's distinct significant words, without TeX: letters and digits only, so
    they are safe to join into a to_tsquery expression."""
    text = re.sub(r"\$[^$]*\$|\\[A-Za-z]+", " ", title)
    words = []
    for word in re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", text):
        folded = word.lower()
        if folded not in _TITLE_STOPWORDS and folded not in words:
            words.append(folded)
    return words[:limit]


class Paper(models.Model):
    """A paper on arXiv, indexed from one of the sources in papers.ingest.

    Denormalised fields, kept by the code that owns each change:
    - upvote_count: the number of Vote rows; changed only in add_vote/remove_vote (and
      account deletion), in the same transaction as the vote row.
    - rank_score: the trending score (papers.ranking); rewritten with each vote and by
      the periodic refresh_rank_scores task.
    - author_names, author_count: the authors in order, for search, feeds and cards;
      written by ingestion with the Authorship rows.
    """

    # Set by PaperQuerySet.with_search_marks on search pages. Cards read them on every
    # list: a missing attribute costs the template engine a dir() of the instance.
    title_marked = None
    abstract_marked = None
    match_reason = None  # why a search result is there (semantic.views.explain)

    arxiv_id = models.CharField(max_length=64, unique=True, validators=[validate_arxiv_id])
    version = models.PositiveSmallIntegerField(default=1)
    title = models.TextField()
    abstract = models.TextField(blank=True)
    comments = models.TextField(blank=True)
    journal_ref = models.TextField(blank=True)
    doi = models.CharField(max_length=255, blank=True)
    primary_category = models.CharField(max_length=32, blank=True)
    categories = models.JSONField(default=list, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, help_text="arXiv v1 date")
    updated_at = models.DateTimeField(null=True, blank=True, help_text="arXiv latest version")
    code_url = models.URLField(max_length=500, blank=True)
    project_url = models.URLField(max_length=500, blank=True)
    daily_date = models.DateField(
        null=True, blank=True, help_text="Day featured in the daily list; empty if only indexed"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submitted_papers",
    )
    upvote_count = models.PositiveIntegerField(default=0)
    rank_score = models.FloatField(default=0.0)
    is_hidden = models.BooleanField(default=False, help_text="Hidden by a moderator")
    author_names = models.TextField(blank=True)
    author_count = models.PositiveIntegerField(default=0)
    source = models.JSONField(default=dict, blank=True, help_text="Raw source record")
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)

    objects = PaperQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                F("daily_date").desc(),
                F("upvote_count").desc(),
                name="paper_daily_ranked",
                condition=Q(daily_date__isnull=False),
            ),
            models.Index(
                F("rank_score").desc(),
                name="paper_trending",
                condition=Q(daily_date__isnull=False),
            ),
            # paper_newest (published_at DESC NULLS LAST, id DESC), in exactly newest()'s
            # order, is PostgreSQL-only (SQLite can't index NULLS LAST): migration 0004.
            models.Index(fields=["primary_category", "published_at"], name="paper_category"),
            # Visible papers with what their lists sort by: an author's papers and search
            # candidates are joined to it by id and sorted without reading the wide rows.
            models.Index(
                fields=["id"],
                include=["published_at", "upvote_count"],
                name="paper_visible_sort_keys",
                condition=Q(is_hidden=False),
            ),
        ]

    def __str__(self):
        return f"{self.arxiv_id}: {self.title[:80]}"

    def get_absolute_url(self):
        return links.url_for("papers:detail", self.arxiv_id)

    @property
    def abs_url(self):
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self):
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    @property
    def is_old_style(self):
        return is_old_style(self.arxiv_id)

    @property
    def more_authors(self):
        """How many authors a card leaves out after the first few."""
        return max(self.author_count - AUTHORS_ON_CARD, 0)

    def voters_for_display(self, limit: int | None = 200):
        """The paper's votes, newest first, with the voter loaded and `by_author` set
        when the voter has claimed one of the paper's authors (shown as an "author"
        badge: their vote counts like any other, but readers should know)."""
        own_paper = Authorship.objects.filter(
            paper=OuterRef("paper"), author__claimed_by=OuterRef("user")
        )
        votes = (
            self.votes.select_related("user")
            .annotate(by_author=Exists(own_paper))
            .order_by("-created_at", "-id")
        )
        return votes[:limit] if limit else votes

    def _count_update(self, delta: int):
        """UPDATE the count and the score in one statement, so concurrent votes can't
        interleave a read and a write."""
        divisor = ranking.decay(self.daily_date, timezone.now())
        new_count = F("upvote_count") + delta
        score = new_count / divisor if divisor else Value(0.0)
        Paper.objects.filter(pk=self.pk).update(upvote_count=new_count, rank_score=score)

    def add_vote(self, user) -> bool:
        """Record `user`'s upvote. Returns False if they had already voted: the
        database's unique constraint decides, so two racing requests can't both win.
        On success `upvote_count` is the paper's new count."""
        if connection.vendor == "postgresql":
            return self._vote_statement(_ADD_VOTE, user, +1)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    Vote.objects.create(user=user, paper=self)
            except IntegrityError:
                return False
            self._count_update(+1)
        return True

    def remove_vote(self, user) -> bool:
        """Withdraw `user`'s upvote. Returns False if there was none. On success
        `upvote_count` is the paper's new count."""
        if connection.vendor == "postgresql":
            return self._vote_statement(_REMOVE_VOTE, user, -1)
        with transaction.atomic():
            deleted, _ = Vote.objects.filter(user=user, paper=self).delete()
            if not deleted:
                return False
            self._count_update(-1)
        return True

    def _vote_statement(self, sql: str, user, delta: int) -> bool:
        """The vote row and the paper's count and score in one statement (PostgreSQL):
        one round trip instead of six (transaction, savepoint, insert or delete, update),
        and the paper's row is locked only while the statement runs."""
        now = timezone.now()
        divisor = ranking.decay(self.daily_date, now)
        params = {"user": user.pk, "paper": self.pk, "now": now, "delta": delta}
        params["divisor"] = divisor
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return False
        self.upvote_count = row[0]
        return True


# Paper.add_vote and remove_vote on PostgreSQL. The UPDATE runs only if the vote row was
# inserted (deleted): ON CONFLICT DO NOTHING returns no row for a second vote. The score
# is PaperQuerySet's hot score of the new count (0 for a paper never featured).
_COUNT_UPDATE = """
    UPDATE papers_paper
    SET upvote_count = upvote_count + %(delta)s,
        rank_score = CASE WHEN %(divisor)s > 0
                     THEN (upvote_count + %(delta)s) / %(divisor)s::float8 ELSE 0 END
    WHERE id IN (SELECT paper_id FROM changed)
    RETURNING upvote_count
"""
_ADD_VOTE = (
    """
    WITH changed AS (
        INSERT INTO papers_vote (user_id, paper_id, created_at)
        VALUES (%(user)s, %(paper)s, %(now)s)
        ON CONFLICT (user_id, paper_id) DO NOTHING
        RETURNING paper_id
    )"""
    + _COUNT_UPDATE
)
_REMOVE_VOTE = (
    """
    WITH changed AS (
        DELETE FROM papers_vote WHERE user_id = %(user)s AND paper_id = %(paper)s
        RETURNING paper_id
    )"""
    + _COUNT_UPDATE
)


class Author(models.Model):
    """A name as it appears on papers. Authors are matched on `normalised_name`, so one
    Author may be several people with the same name until someone claims it."""

    name = models.CharField(max_length=300)
    normalised_name = models.CharField(max_length=300, unique=True)
    slug = models.SlugField(max_length=300, unique=True, allow_unicode=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_authors",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return links.url_for("papers:author", self.slug)


class Authorship(models.Model):
    """An author's place on a paper (0-based `position`, in the paper's order)."""

    # No single-column indexes on the foreign keys: the constraints' (paper, ...) and
    # authorship_by_author's (author, paper) indexes serve those lookups already.
    paper = models.ForeignKey(
        Paper, on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    author = models.ForeignKey(
        Author, on_delete=models.CASCADE, related_name="authorships", db_index=False
    )
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["paper", "position"]
        constraints = [
            models.UniqueConstraint(fields=["paper", "position"], name="one_author_per_position"),
            models.UniqueConstraint(fields=["paper", "author"], name="author_once_per_paper"),
        ]
        indexes = [models.Index(fields=["author", "paper"], name="authorship_by_author")]

    def __str__(self):
        return f"{self.author} on {self.paper.arxiv_id} (#{self.position + 1})"


class Vote(models.Model):
    # Indexed by one_vote_per_user_per_paper (user, paper) and vote_by_paper (paper,
    # created_at): a single-column index on either would be one more write per vote.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes", db_index=False
    )
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="votes", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "paper"], name="one_vote_per_user_per_paper"),
        ]
        indexes = [models.Index(fields=["paper", "created_at"], name="vote_by_paper")]

    def __str__(self):
        return f"{self.user} ↑ {self.paper.arxiv_id}"


class SearchDocument(models.Model):
    """A paper's full-text search vector, in a narrow table of its own (migration
    0008): title (weight A), authors (B) and abstract (C). Written by PostgreSQL
    triggers whenever a paper's title, abstract or authors change, never by Django.

    Not a column of papers_paper: there the 1.6 kB vector went to TOAST with the
    abstract, and ranking a few thousand matches meant a TOAST lookup for each (about
    90 ms for 2,000 at a million papers); here it is stored inline, and the same
    matches are read in about 10 ms. On SQLite the table stays empty: search falls
    back to LIKE there."""

    paper = models.OneToOneField(
        Paper,
        primary_key=True,
        related_name="search_document",
        # The database deletes it with its paper (ON DELETE CASCADE, migration 0008).
        on_delete=models.DO_NOTHING,
        db_constraint=False,
    )
    vector = SearchVectorField(null=True)

    def __str__(self):
        return f"search document of {self.paper_id}"


class SubmissionQuerySet(models.QuerySet):
    def time_out(self) -> int:
        """Fail the pending submissions older than SUBMIT_PENDING_TIMEOUT, so none can
        spin for ever on the submit page: their task was lost, or waited behind others
        too long (a task that runs later finds them no longer pending)."""
        now = timezone.now()
        cutoff = now - dt.timedelta(seconds=settings.SUBMIT_PENDING_TIMEOUT)
        return self.filter(status=Submission.Status.PENDING, created_at__lt=cutoff).update(
            status=Submission.Status.FAILED,
            message="arXiv could not be reached in time. Please try again later.",
            updated_at=now,
        )


class Submission(models.Model):
    """A signed-in user's request to feature an arXiv paper (/submit/). The paper's
    metadata is fetched by a task (papers.tasks.fetch_submission), which records how it
    went in `status` and `message` (while pending, `message` says why it is waiting);
    the submit page polls it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Fetching from arXiv"
        FEATURED = "featured", "Added to the daily list"
        ALREADY_FEATURED = "already_featured", "Already featured"
        FAILED = "failed", "Could not be added"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    arxiv_id = models.CharField(max_length=64)
    paper = models.ForeignKey(
        Paper, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="submission_by_user")]

    def __str__(self):
        return f"{self.arxiv_id} by {self.user} ({self.status})"

    @property
    def is_pending(self):
        return self.status == self.Status.PENDING

    def fail_unqueued(self):
        """Its fetch could not be queued (the task broker is down): say so at once
        rather than spin until SUBMIT_PENDING_TIMEOUT."""
        Submission.objects.filter(pk=self.pk, status=self.Status.PENDING).update(
            status=self.Status.FAILED,
            message="Submissions are paused for a moment. Please try again in a few minutes.",
            updated_at=timezone.now(),
        )


# --- Digests (issue 5): the delivery log lives with the rest of papers.digests ---------
from .digests.models import DigestDelivery  # noqa: E402, F401

# --- Ingestion (issue 4): where an OAI-PMH backfill got to --------------------------------
from .ingest.checkpoints import HarvestCheckpoint  # noqa: E402, F401
