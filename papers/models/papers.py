"""The paper, and its full-text search document."""

import functools

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Exists, F, OuterRef, Q, Value
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import Truncator

from .. import hooks, links, ranking
from ..arxiv_ids import is_old_style, validate_arxiv_id
from .authors import Authorship
from .querysets import AUTHORS_ON_CARD, PaperQuerySet
from .votes import ADD_VOTE_SQL, REMOVE_VOTE_SQL, Vote

# Sent when a moderator hides papers or shows them again (the admin's actions), with
# `papers` (the ones whose visibility changes), `hidden` and `moderator`: the public
# moderation log records it (moderation.signals). Papers imports no feature app.
papers_hidden = Signal()


def votes_for_display(paper):
    """The votes of `paper` (or `OuterRef("pk")`: papers.pageparts' digest of what the
    page shows) as Paper.voters_for_display lists them."""
    own_paper = Authorship.objects.filter(
        paper=OuterRef("paper"), author__claimed_by=OuterRef("user")
    )
    return (
        Vote.objects.filter(paper=paper)
        .annotate(by_author=Exists(own_paper))
        .order_by("-created_at", "-id")
    )


class Paper(models.Model):
    """A paper on arXiv, indexed from one of the sources in ingest.

    Denormalised fields, kept by the code that owns each change:
    - upvote_count: the number of Vote rows; changed only in add_vote/remove_vote (and
      account deletion), in the same transaction as the vote row.
    - rank_score: the trending score (papers.ranking); rewritten with each vote and by
      the periodic refresh_rank_scores task.
    - author_names, author_count: the authors in order, for search, feeds and cards;
      written by ingestion with the Authorship rows.
    - comment_count: the comments shown in its discussion (discussion.Comment), changed
      in the same transaction as them.
    """

    # Set by PaperQuerySet.with_search_marks on search pages. Cards read them on every
    # list: a missing attribute costs the template engine a dir() of the instance.
    title_marked = None
    abstract_marked = None
    # Set by the library's viewer annotation (the save button on cards), False without it.
    user_has_saved = False
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
    # Comments shown in its discussion (discussion.Comment keeps it, issue 14).
    comment_count = models.PositiveIntegerField(default=0)
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

    @functools.cached_property
    def short_title(self):
        """The title as buttons' labels give it (what `|truncatechars:60` gives): worked
        out once for the vote and the save button of a card, each of which needed it."""
        return Truncator(self.title).chars(60)

    @property
    def vote_url(self):
        """Where the vote button posts: on every card, so without the resolver."""
        return links.url_for("papers:vote", self.arxiv_id)

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
        votes = votes_for_display(self).select_related("user")
        return votes[:limit] if limit else votes

    def _count_update(self, delta: int):
        """UPDATE the count and the score in one statement, so concurrent votes can't
        interleave a read and a write."""
        divisor = ranking.decay(self.daily_date, timezone.now())
        new_count = F("upvote_count") + delta
        score = (new_count + self._rank_boost()) / divisor if divisor else Value(0.0)
        Paper.objects.filter(pk=self.pk).update(upvote_count=new_count, rank_score=score)

    def add_vote(self, user) -> bool:
        """Record `user`'s upvote. Returns False if they had already voted: the
        database's unique constraint decides, so two racing requests can't both win.
        On success `upvote_count` is the paper's new count."""
        if connection.vendor == "postgresql":
            return self._vote_statement(ADD_VOTE_SQL, user, +1)
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
            return self._vote_statement(REMOVE_VOTE_SQL, user, -1)
        with transaction.atomic():
            deleted, _ = Vote.objects.filter(user=user, paper=self).delete()
            if not deleted:
                return False
            self._count_update(-1)
        return True

    def _rank_boost(self) -> float:
        """What the trending score adds to the votes besides them (issue 13: the stars
        the paper's code gained lately, times TRENDING_STAR_WEIGHT; papers.hooks). No
        query while the weight is 0, the default."""
        lookup, weight = hooks.rank_boost(), ranking.star_weight()
        if not lookup or not weight:
            return 0.0
        value = Paper.objects.filter(pk=self.pk).values_list(lookup, flat=True).first()
        return weight * max(value or 0, 0)

    def _vote_statement(self, sql: str, user, delta: int) -> bool:
        """The vote row and the paper's count and score in one statement (PostgreSQL):
        one round trip instead of six (transaction, savepoint, insert or delete, update),
        and the paper's row is locked only while the statement runs."""
        now = timezone.now()
        divisor = ranking.decay(self.daily_date, now)
        params = {"user": user.pk, "paper": self.pk, "now": now, "delta": delta}
        params["divisor"] = divisor
        params["boost"] = self._rank_boost()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            return False
        self.upvote_count = row[0]
        return True


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
