"""PaperQuerySet: the lists, days and per-user views of papers, and related papers."""

import datetime as dt
import re

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, models
from django.db.models import Exists, F, Max, OuterRef, Prefetch, Subquery, Value
from django.utils import timezone

from .. import compiled, hooks, ranking
from .authors import Authorship
from .votes import Vote

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
        return self.trending_since(trending_start(now))

    def trending_since(self, since: dt.date):
        return self.featured().filter(daily_date__gte=since).order_by("-rank_score", "-id")

    def refresh_rank_scores(self, now: dt.datetime | None = None) -> int:
        """Recompute the trending score of every paper in the trending window, as they
        age. Votes rewrite a single paper's score at once (Paper._count_update)."""
        now = now or timezone.now()
        papers = self.trending(now).only("pk", "upvote_count", "daily_date", "rank_score")
        boost = hooks.rank_boost()
        if boost and ranking.star_weight():  # issue 13: star velocity, an optional term
            papers = papers.annotate(stars_gained=F(boost))
        papers = list(papers)
        for paper in papers:
            stars = getattr(paper, "stars_gained", None) or 0
            paper.rank_score = ranking.hot_score(paper.upvote_count, paper.daily_date, now, stars)
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

    def with_code(self):
        """Papers with a code link (issue 13's has_code=1 filter)."""
        return self.exclude(code_url="")

    def with_user_votes(self, user):
        if user is None or not user.is_authenticated:
            return self.annotate(user_has_voted=Value(False, output_field=models.BooleanField()))
        return self.annotate(
            user_has_voted=Exists(Vote.objects.filter(paper=OuterRef("pk"), user=user))
        )

    def with_viewer_annotations(self, user):
        """The annotations other apps add for the viewer (papers.hooks), in the same
        query."""
        papers = self
        for annotate in hooks.viewer_annotations():
            papers = annotate(papers, user)
        return papers

    def for_listing(self, user=None):
        """Everything a paper card needs, in a fixed number of queries whatever the
        page length: the papers (with the viewer's vote and the submitter) and one
        query for the first authors of all of them."""
        first_authors = Authorship.objects.select_related("author").order_by("position")
        return (
            self.visible()
            # Relations feature apps show on cards (papers.hooks): joined, no query more.
            .select_related("submitted_by", *hooks.listing_relations())
            .prefetch_related(
                Prefetch(
                    "authorships",
                    queryset=first_authors.filter(position__lt=AUTHORS_ON_CARD),
                    to_attr="first_authorships",
                )
            )
            .with_user_votes(user)
            .with_viewer_annotations(user)
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
        if self.query.where:  # a filtered queryset: its own papers
            return list(self.visible().by_author(author).newest().values_list("pk", flat=True))
        ids = compiled.shaped(_author_paper_ids, model=self.model, author=author.pk)
        return [pk for (pk,) in ids.rows()]

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
        if self.query.where:  # a filtered queryset: its own papers
            return self.visible().featured().aggregate(day=Max("daily_date"))["day"]
        # Every list page asks: compiled once (papers.compiled).
        row = compiled.shaped(_latest_day, model=self.model).first()
        return row[0] if row else None

    def neighbour_days(self, first: dt.date, last: dt.date) -> tuple[dt.date | None, ...]:
        """The nearest days with visible featured papers before `first` and after `last`,
        skipping empty days, in one query: two index lookups as scalar subqueries."""
        row = compiled.shaped(_neighbour_days, model=self.model, first=first, last=last).first()
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


def trending_start(now: dt.datetime | None = None) -> dt.date:
    """The first day of the trending window."""
    return ((now or timezone.now()) - dt.timedelta(days=settings.TRENDING_DAYS)).date()


def _latest_day(model):
    days = model.objects.visible().featured()
    # MAX() as an index scan that stops at the first row, as PostgreSQL runs MAX() too.
    return days.order_by("-daily_date").values_list("daily_date")[:1]


def _author_paper_ids(model, author):
    return model.objects.visible().filter(authorships__author=author).newest().values_list("pk")


def _neighbour_days(model, first, last):
    days = model.objects.visible().featured()
    before = days.filter(daily_date__lt=first).order_by("-daily_date")
    after = days.filter(daily_date__gt=last).order_by("daily_date")
    # Any one row carries the two subqueries; an empty table has no neighbours.
    return (
        model.objects.annotate(
            before=Subquery(before.values("daily_date")[:1]),
            after=Subquery(after.values("daily_date")[:1]),
        )
        .order_by("pk")
        .values_list("before", "after")[:1]
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
